"""`depa-chain`: run a ledger, and talk to one as a party. Commands parse, call, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from chain.client import LedgerClient, fetch_vkey
from chain.console import err, lineage_tree, out, run, version_option
from chain.tlog.checkpoint import load_vkey
from chain.tlog.receipt import Receipt
from schemas import statement as s
from schemas.canonical import parse_json
from schemas.contract import Contract, contract_id, fill_parties
from schemas.digest import artefact_digest
from schemas.errors import DepaError, MalformedInput, SchemaViolation
from schemas.keys import Signer, new_identity

app = typer.Typer(help="depa-chain: the signed-statement Merkle ledger of DEPA-Training.", no_args_is_help=True)
version_option(app, "depa-chain")
keys_app = typer.Typer(help="Create party keys.", no_args_is_help=True)
party_app = typer.Typer(help="Register parties (operator).", no_args_is_help=True)
contract_app = typer.Typer(help="Propose, sign, show and import contracts.", no_args_is_help=True)
artefact_app = typer.Typer(help="Register artefacts by digest.", no_args_is_help=True)
receipt_app = typer.Typer(help="Verify receipts offline.", no_args_is_help=True)


def _add_commands() -> None:
    """Commands that installed packages add to depa-chain (`console`, from the web console), by entry point."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="depa_chain.commands"):
        app.command(ep.name)(ep.load())


for sub, name in [
    (keys_app, "keys"),
    (party_app, "party"),
    (contract_app, "contract"),
    (artefact_app, "artefact"),
    (receipt_app, "receipt"),
]:
    app.add_typer(sub, name=name)


LedgerUrl = Annotated[str, typer.Option("--ledger", envvar="DEPA_LEDGER_URL", help="Ledger base URL.")]
VkeyOpt = Annotated[
    str | None, typer.Option("--vkey", envvar="DEPA_VKEY", help="Pinned C2SP vkey, or a file holding it.")
]
StateOpt = Annotated[
    Path | None, typer.Option("--state", envvar="DEPA_STATE", help="File remembering the last checkpoint seen.")
]
KeyOpt = Annotated[Path, typer.Option("--key", envvar="DEPA_KEY", help="Signing key (Ed25519 PKCS#8 PEM).")]
ReaderOpt = Annotated[
    Path | None,
    typer.Option("--key", envvar="DEPA_KEY", help="Your party key (Ed25519 PEM): signs reads."),
]
ReceiptOpt = Annotated[Path | None, typer.Option("--receipt", help="Write the tlog-proof receipt here.")]
DEFAULT_URL = "http://127.0.0.1:8000"


def _client(ledger: str, vkey: str | None, state: Path | None, key: Path | None) -> LedgerClient:
    """A client that signs its reads with `key`, when one is given."""
    if vkey is None:
        vkey = fetch_vkey(ledger)
        err.print(f"[yellow]warning:[/] no --vkey pinned; trusting {vkey} as served by {ledger}")
    reader = Signer.load(key) if key is not None else None
    return LedgerClient(ledger, load_vkey(vkey), state_file=state, reader=reader)


def _show_receipt(receipt: Receipt, save: Path | None) -> None:
    cp_size = receipt.checkpoint.split("\n")[1]
    out.print(f"logged as entry [bold]{receipt.seq}[/] ({receipt.statement_id}), in checkpoint of size {cp_size}")
    if save is not None:
        save.write_text(receipt.to_tlog_proof())
        out.print(f"receipt written to {save}")


def _append(
    ledger: str, vkey: str | None, state: Path | None, key: Path, kind: str, body: dict[str, Any], save: Path | None
) -> Receipt:
    signer = Signer.load(key)
    body = {k: v for k, v in body.items() if v is not None}  # optional fields left out, not null
    with _client(ledger, vkey, state, key) as client:
        receipt = client.append(s.sign(signer, kind, body))
    _show_receipt(receipt, save)
    return receipt


@app.command()
def init(
    home: Annotated[Path, typer.Option(help="Folder for the ledger's keys, settings and database.")],
    origin: Annotated[str, typer.Option(help="Log origin, e.g. ledger.example.org/depa")],
) -> None:
    """Create a ledger home: operator key, checkpoint key, database; print the vkey."""
    from chain.ledger.home import init_home

    config = init_home(home, origin)
    err.print(f"ledger home {home} created; operator {config.operator}")
    out.print(config.vkey, highlight=False, soft_wrap=True)


@app.command()
def serve(
    home: Annotated[Path, typer.Option(help="The ledger home made by init.")],
    host: str = "127.0.0.1",
    port: int = 8000,
    read: Annotated[
        Literal["public", "parties"] | None,
        typer.Option(
            "--read",
            help="Who reads entries and views: parties (signed reads, the default) or public. "
            "Checkpoints and proofs are public either way. [env: DEPA_READ]",
        ),
    ] = None,
) -> None:
    """Serve a ledger over HTTP (OpenAPI at /docs)."""
    from chain.http_server import bind, run_server
    from chain.ledger.home import Settings, open_home
    from chain.ledger.service import create_app

    settings = Settings(read=read) if read else Settings()
    sock = bind(host, port)  # before anything says it serves
    ledger = open_home(home, settings)
    app = create_app(ledger, settings)
    err.print(f"serving {ledger.origin} ({ledger.info().size} entries) on http://{host}:{port}; vkey {ledger.vkey}")
    for name, path in _mount_apps(app, ledger):
        err.print(f"{name}: http://{host}:{port}{path}; reads: {settings.read}")
    run_server(app, sock, header_timeout=settings.header_timeout, limit_concurrency=settings.max_connections)


def _mount_apps(app: Any, ledger: Any) -> list[tuple[str, str]]:
    """What installed packages serve beside the ledger (the web console): found by entry point, so the ledger
    imports none of them. Each mounts itself and says what it serves, and where."""
    from importlib.metadata import entry_points

    return [ep.load()(app, ledger) for ep in entry_points(group="depa_chain.mounts")]


@app.command()
def fsck(home: Annotated[Path, typer.Option(help="The ledger home to check (the ledger need not run).")]) -> None:
    """Check a ledger home offline: every entry, node and checkpoint against the leaves.

    Exit 0: consistent; 1: inconsistencies, each named; 2: the home or its database could not be read."""
    from chain.ledger.home import check_home

    try:
        found = check_home(home)
    except DepaError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    for problem in found.problems:
        out.print(f"[red]inconsistent:[/] {problem}", highlight=False)
    summary = f"{found.entries} entries, {found.nodes} nodes, {found.checkpoints} checkpoints checked"
    if found.problems:
        err.print(f"{len(found.problems)} inconsistencies in {home} ({summary})")
        raise typer.Exit(1)
    err.print(f"{home} is consistent: {summary}")


@keys_app.command("new")
def keys_new(
    name: str,
    directory: Annotated[Path, typer.Option("--dir", help="Where to write NAME.pem and NAME.age.")] = Path("."),
) -> None:
    """Make an Ed25519 signing key (NAME.pem) and an age identity (NAME.age), mode 0600."""
    signer, recipient = new_identity(directory, name)
    out.print(json.dumps({"name": name, "did": signer.did, "x25519": recipient}, indent=2))


@party_app.command("register")
def party_register(
    name: str,
    did: Annotated[str, typer.Option(help="The party's did:key.")],
    x25519: Annotated[str, typer.Option(help="The party's age recipient (age1...).")],
    role: Annotated[list[str], typer.Option(help="TDP, TDC, CCRP, AUDITOR or OPERATOR (repeat).")],
    key: KeyOpt,
    alias: Annotated[list[str] | None, typer.Option(help="Another name contracts use, e.g. a did:web.")] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Register a party (signed by the operator's key)."""
    body = {"did": did, "name": name, "roles": role, "x25519": x25519, "aliases": alias or None}
    _append(ledger, vkey, state, key, "party.register", body, receipt)


def _read_json(path: Path) -> Any:
    try:
        return parse_json(path.read_bytes())
    except OSError as exc:
        raise MalformedInput(f"cannot read {path}: {exc.strerror}") from exc


@contract_app.command("propose")
def contract_propose(
    file: Path,
    key: KeyOpt,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Propose the contract in FILE (our schema, a superset of upstream contract.json)."""
    raw = _read_json(file)
    _append(ledger, vkey, state, key, "contract.propose", {"contract": raw}, receipt)
    out.print(f"contract id [bold]{contract_id(raw)}[/]")


@contract_app.command("import")
def contract_import(
    file: Path,
    key: KeyOpt,
    tdc: Annotated[str | None, typer.Option(help="DID or alias of the data consumer.")] = None,
    tdp: Annotated[list[str] | None, typer.Option(help="DID or alias of a data provider (repeat).")] = None,
    ccrp: Annotated[str | None, typer.Option(help="DID or alias of the clean-room provider.")] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    output: Annotated[Path | None, typer.Option("-o", help="Also write the filled contract here.")] = None,
) -> None:
    """Import an upstream DEPA contract.json: fill its empty party slots, check them, propose it."""
    raw = fill_parties(_read_json(file), tdc=tdc, tdps=tdp, ccrp=ccrp)
    try:
        contract = Contract.model_validate(raw)
    except ValueError as exc:
        raise SchemaViolation(f"{file} is not a DEPA contract: {exc}") from exc
    with _client(ledger, vkey, state, key) as client:
        known = {ref for p in client.parties() if p.revoked_at is None for ref in (p.did, *p.aliases)}
    missing = contract.missing_parties(known.__contains__)
    if missing:
        raise MalformedInput("cannot import: " + "; ".join(missing))
    if output is not None:
        output.write_text(json.dumps(raw, indent=2) + "\n")
    _append(ledger, vkey, state, key, "contract.propose", {"contract": raw}, None)
    out.print(f"contract id [bold]{contract_id(raw)}[/]")


@contract_app.command("sign")
def contract_sign(
    contract_id: str,
    key: KeyOpt,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Sign a proposed contract as one of its named parties."""
    _append(ledger, vkey, state, key, "contract.sign", {"contract_id": contract_id}, receipt)


@contract_app.command("show")
def contract_show(
    contract_id: str,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a contract's state, parties and signatures."""
    with _client(ledger, vkey, state, key) as client:
        view = client.contract(contract_id)
    if as_json:
        out.print_json(view.model_dump_json())
        return
    table = Table(title=f"contract {view.id} - {view.state}")
    table.add_column("party")
    table.add_column("signed")
    signed = {sig.party: sig for sig in view.signatures}
    for ref in [*signed, *view.unsigned]:
        sig = signed.get(ref)
        table.add_row(ref, f"entry {sig.seq} at {sig.logged_at:%Y-%m-%d %H:%M:%S}" if sig else "[red]not yet[/]")
    out.print(table)
    c = view.contract
    out.print(
        f"purpose {c.get('purpose')}, {len(c.get('datasets', []))} datasets, "
        f"valid {c.get('startTime')} to {c.get('expiryTime')}"
    )


@artefact_app.command("register")
def artefact_register(
    path: Path,
    key: KeyOpt,
    kind: Annotated[str, typer.Option(help="dataset, model, code, config or log")] = "dataset",
    name: Annotated[str | None, typer.Option(help="Name; defaults to the file name.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, parquet, safetensors, ...")] = None,
    derived_from: Annotated[list[str] | None, typer.Option(help="Digest of a parent artefact (repeat).")] = None,
    contract: Annotated[str | None, typer.Option(help="Contract id this artefact belongs to.")] = None,
    records: Annotated[
        int | None, typer.Option(min=1, help="A dataset's record count: contracts' delta stays within 1/(10 n).")
    ] = None,
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Register a file or folder by its SHA-256 digest (a folder hashes as a sorted manifest)."""
    digest, size = artefact_digest(path)
    body = {
        "digest": digest,
        "name": name or path.name,
        "kind": kind,
        "format": fmt,
        "size": size,
        "derived_from": derived_from or None,
        "contract_id": contract,
        "records": records,
    }
    _append(ledger, vkey, state, key, "artefact.register", body, receipt)
    out.print(f"artefact [bold]{digest}[/]")


@artefact_app.command("cap")
def artefact_cap(
    digest: Annotated[str, typer.Argument(help="The dataset's digest, as `artefact register` printed it.")],
    key: KeyOpt,
    epsilon: Annotated[float, typer.Option(help="The dataset's epsilon across every contract that names it.")],
    delta: Annotated[float, typer.Option(help="The dataset's delta across every contract that names it.")],
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    receipt: ReceiptOpt = None,
) -> None:
    """Cap your dataset's privacy loss across all contracts (once): each contract naming it as a dataset's
    source draws its epsilon and delta from this cap when you sign it."""
    _append(ledger, vkey, state, key, "dataset.cap", {"dataset": digest, "epsilon": epsilon, "delta": delta}, receipt)
    out.print(f"dataset {digest} capped at epsilon {epsilon:g}, delta {delta:g} across contracts")


@app.command()
def lineage(
    digest: str,
    direction: Annotated[str, typer.Option(help="up, down or both")] = "both",
    ledger: LedgerUrl = DEFAULT_URL,
    vkey: VkeyOpt = None,
    state: StateOpt = None,
    key: ReaderOpt = None,
) -> None:
    """Show where an artefact came from and what was made from it."""
    if direction not in ("up", "down", "both"):
        raise MalformedInput("--direction is up, down or both")
    with _client(ledger, vkey, state, key) as client:
        out.print(lineage_tree(client.lineage(digest, direction).graph()))  # type: ignore[arg-type]


@app.command()
def checkpoint(ledger: LedgerUrl = DEFAULT_URL, vkey: VkeyOpt = None, state: StateOpt = None) -> None:
    """Fetch, verify and print the latest checkpoint (consistent with the last one remembered)."""
    with _client(ledger, vkey, state, None) as client:
        cp = client.checkpoint()
        out.print(client.last, end="", highlight=False)
    err.print(f"verified: size {cp.size}")


@receipt_app.command("verify")
def receipt_verify(
    file: Path,
    vkey: Annotated[str, typer.Option("--vkey", envvar="DEPA_VKEY", help="The ledger's C2SP vkey, or a file.")],
) -> None:
    """Verify a tlog-proof receipt offline, with nothing but the ledger's vkey."""
    try:
        text = file.read_text()
    except OSError as exc:
        raise MalformedInput(f"cannot read {file}: {exc.strerror}") from exc
    cp, logged = Receipt.from_tlog_proof(text).verify(load_vkey(vkey))
    st = logged.statement
    out.print(
        f"[green]verified[/]: entry {logged.seq} ({st.get('typ')} by {st.get('iss')}) "
        f"is in {cp.origin} at size {cp.size}, logged at {logged.logged_at:%Y-%m-%dT%H:%M:%SZ}"
    )


_add_commands()


def main() -> None:
    """Entry point: every error becomes one line on stderr and a non-zero exit."""
    run(app)
