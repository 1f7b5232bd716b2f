"""`depa-keys`: the data provider's key broker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chain.client import LedgerClient
from chain.console import err, out, run, version_option
from keybroker.release import Broker
from keybroker.seal import dataset_identity, seal
from schemas.errors import MalformedInput
from schemas.keys import Signer, read_identity

app = typer.Typer(help="depa-keys: release dataset keys only to attested clean rooms.", no_args_is_help=True)
version_option(app, "depa-keys")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo("depa-keys 0.1.0")


def parse_datasets(pairs: list[str]) -> dict[str, str]:
    identities = {}
    for pair in pairs:
        dataset, sep, path = pair.partition("=")
        if not sep or not dataset or not path:
            raise MalformedInput(f"--dataset {pair!r} is not DATASET_ID=IDENTITY_FILE")
        identities[dataset] = read_identity(Path(path))
    return identities


@app.command()
def serve(
    key: Annotated[Path, typer.Option("--key", help="The provider's signing key (Ed25519 PEM).")],
    dataset: Annotated[list[str], typer.Option("--dataset", help="DATASET_ID=IDENTITY_FILE, once per dataset.")],
    ledger: Annotated[str, typer.Option("--ledger", envvar="DEPA_LEDGER_URL", help="Ledger base URL.")],
    vkey: Annotated[str, typer.Option("--vkey", envvar="DEPA_VKEY", help="The ledger's pinned C2SP vkey.")],
    state: Annotated[Path | None, typer.Option("--state", help="File remembering the last checkpoint seen.")] = None,
    host: str = "127.0.0.1",
    port: int = 8100,
) -> None:
    """Serve POST /v1/release for this provider's datasets."""
    from chain.http_server import bind, run_server
    from keybroker.service import create_app

    signer = Signer.load(key)  # signs the broker's releases and its reads of the ledger
    broker = Broker(LedgerClient(ledger, vkey, state_file=state, reader=signer), signer, parse_datasets(dataset))
    sock = bind(host, port)
    err.print(f"key broker for {', '.join(broker.identities)} on http://{host}:{port}")
    run_server(create_app(broker), sock)


@app.command("seal")
def seal_command(
    path: Annotated[Path, typer.Argument(help="The dataset: a file, or a folder (sealed as a tar of its files).")],
    dataset: Annotated[str, typer.Option("--dataset", help="The contract's id of this dataset.")],
    identity: Annotated[
        Path, typer.Option("--identity", help="The dataset's age identity for your broker; made if it does not exist.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the encrypted file.")],
) -> None:
    """Encrypt a dataset for the clean room: only your broker, holding --identity, can release its key.

    Prints the encrypted file's digest (`depa-chain artefact register --encrypted` records it)."""
    digest = seal(path, dataset_identity(identity, dataset), output)
    err.print(f"{path} sealed to {output}; serve its key with: depa-keys serve --dataset {dataset}={identity}")
    out.print(digest, highlight=False)


def main() -> None:
    run(app)
