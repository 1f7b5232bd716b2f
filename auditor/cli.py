"""`depa-audit`: independent verification of a depa-chain ledger and of clean-room evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from auditor import lineage as lineages
from auditor import snapshot as snapshots
from auditor import transcript as transcripts
from auditor.accounting import spend
from auditor.attestation import load_policy, load_simulated_roots, verify_files
from auditor.evidence_files import load_collateral, load_crl
from auditor.log import check_log
from auditor.render import attestation_result, audit_report, budget_table
from auditor.replay import World
from auditor.verify import audit
from auditor.witness import witness, witness_vkey
from chain.console import err, lineage_tree, out, read_file, run, version_option
from chain.tlog.checkpoint import VerifierKey, load_vkey
from schemas.errors import DepaError, ForkError, MalformedInput, VerificationError
from schemas.keys import Signer

app = typer.Typer(help="depa-audit: verify depa-chain evidence independently.", no_args_is_help=True)
version_option(app, "depa-audit")
attestation_app = typer.Typer(help="Verify SEV-SNP and TDX attestation evidence offline.", no_args_is_help=True)
app.add_typer(attestation_app, name="attestation")


bundle_app = typer.Typer(
    help="Offline bundles: a log snapshot anyone can verify without the ledger.", no_args_is_help=True
)
app.add_typer(bundle_app, name="bundle")

VkeyArg = Annotated[
    str, typer.Option("--vkey", envvar="DEPA_VKEY", help="The ledger's C2SP vkey, or a file holding it.")
]


DEFAULT_LEDGER = "http://127.0.0.1:8000"
LedgerOpt = Annotated[str | None, typer.Option("--ledger", envvar="DEPA_LEDGER_URL", help="Ledger URL.")]
BundleOpt = Annotated[Path | None, typer.Option("--bundle", help="A bundle file, offline.")]
DatabaseOpt = Annotated[str | None, typer.Option("--database", help="A ledger database, read directly.")]
ReaderOpt = Annotated[
    Path | None,
    typer.Option("--key", envvar="DEPA_KEY", help="Your party key (Ed25519 PEM): signs reads of a ledger that "
                 "serves its parties only; reading the whole log needs the AUDITOR role."),
]  # fmt: skip


@app.command()
def verify(
    vkey: VkeyArg,
    ledger: LedgerOpt = None,
    bundle: BundleOpt = None,
    database: DatabaseOpt = None,
    reader: ReaderOpt = None,
    state: Annotated[Path | None, typer.Option("--state", help="Folder keeping the last trusted checkpoint.")] = None,
    contract: Annotated[str | None, typer.Option("--contract", help="Report on this contract only.")] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="The operator's DID, pinned.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify a whole ledger independently: exit 0 verified, 1 violations, 2 usage or connection, 3 log inconsistent."""
    key = load_vkey(vkey)
    signer = Signer.load(reader) if reader is not None else None
    snapshot = _snapshot(key, ledger, bundle, database, signer)
    recorded = (lambda cids: _recorded(ledger, key, cids, signer)) if ledger is not None else None
    with Progress(
        TextColumn("verifying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json or not err.is_terminal,  # a bar in a log file is noise
    ) as progress:
        task = progress.add_task("verify", total=_size(snapshot.checkpoint))
        report = audit(
            snapshot,
            key,
            state=state,
            operator=operator,
            contract=contract,
            recorded=recorded,
            progress=lambda done: progress.update(task, completed=done),
        )
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        out.print(audit_report(report))
    raise typer.Exit(report.exit_code)


def _size(note: str) -> int | None:
    try:
        return int(note.split("\n")[1])
    except (IndexError, ValueError):
        return None


def _snapshot(key: VerifierKey, ledger: str | None, bundle: Path | None, database: str | None, reader: Signer | None):
    sources = [x for x in (ledger, bundle, database) if x is not None]
    if len(sources) != 1:
        raise MalformedInput("give exactly one of --ledger, --bundle or --database", remedy="see --help")
    if ledger is not None:
        return snapshots.from_ledger(ledger, key, reader)
    if bundle is not None:
        return snapshots.from_bundle(bundle)
    assert database is not None
    return snapshots.from_database(database)


def _world(vkey: str, ledger: str | None, bundle: Path | None, database: str | None, reader: Path | None):
    """The collaboration replayed from a log whose integrity was checked first."""
    key = load_vkey(vkey)
    world = World("")
    signer = Signer.load(reader) if reader is not None else None
    log = check_log(_snapshot(key, ledger, bundle, database, signer), key, None, world.add)
    if not log.consistent:
        failed = "; ".join(c.reason for c in log.checks if c.status == "fail")
        raise VerificationError(f"the log is inconsistent, so nothing in it can be trusted: {failed}")
    return world


@app.command("lineage")
def lineage_command(
    digest: str,
    vkey: VkeyArg,
    ledger: LedgerOpt = None,
    bundle: BundleOpt = None,
    database: DatabaseOpt = None,
    reader: ReaderOpt = None,
    direction: Annotated[str, typer.Option(help="up, down or both.")] = "both",
    fmt: Annotated[str, typer.Option("--format", help="tree, json, dot, mermaid or prov (W3C PROV-JSON).")] = "tree",
) -> None:
    """The provenance graph of an artefact, re-derived from the verified log."""
    if direction not in ("up", "down", "both") or fmt not in ("tree", "json", "dot", "mermaid", "prov"):
        raise MalformedInput("--direction is up, down or both; --format is tree, json, dot, mermaid or prov")
    graph = lineages.lineage(_world(vkey, ledger, bundle, database, reader), digest, direction)  # type: ignore[arg-type]
    if fmt == "json":
        out.print_json(graph.model_dump_json())
    elif fmt == "prov":
        out.print_json(json.dumps(lineages.to_prov(graph)))
    elif fmt == "tree":
        out.print(lineage_tree(graph))
    else:
        typer.echo(lineages.to_dot(graph) if fmt == "dot" else lineages.to_mermaid(graph), nl=False)


@app.command("transcript")
def transcript_command(
    file: Annotated[Path, typer.Argument(help="The run's transcript.jsonl, decrypted (`depa-chain artefact open`).")],
    run_id: Annotated[str, typer.Option("--run", help="The run it is the transcript of.")],
    vkey: VkeyArg,
    ledger: LedgerOpt = None,
    bundle: BundleOpt = None,
    database: DatabaseOpt = None,
    reader: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each check as JSON.")] = False,
) -> None:
    """Check a training transcript against the verified log: exit 0 if every check passes, 1 otherwise."""
    text = read_file(file)
    findings = transcripts.check(_world(vkey, ledger, bundle, database, reader), run_id, text)
    if as_json:
        out.print_json(json.dumps([f.model_dump() for f in findings]))
    else:
        for f in findings:
            where = f" (entry {f.seq})" if f.seq is not None else ""
            out.print(f"{f.status:<5} {f.check}: {f.reason}{where}", highlight=False, markup=False)
    if any(f.status == "fail" for f in findings):
        raise typer.Exit(1)


@app.command("budget")
def budget_command(
    contract: str,
    vkey: VkeyArg,
    ledger: LedgerOpt = None,
    bundle: BundleOpt = None,
    database: DatabaseOpt = None,
    reader: ReaderOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per dataset: the cap, what was spent (RDP and PLD), what is reserved, what remains."""
    rows = spend(_world(vkey, ledger, bundle, database, reader), contract)
    if as_json:
        out.print_json(json.dumps([r.model_dump() for r in rows]))
    else:
        out.print(budget_table(contract, rows))


def _recorded(url: str, key: VerifierKey, contracts: list[str], reader: Signer | None) -> dict[tuple[str, str], float]:
    """What the ledger says each dataset has spent, to hold against the recomputation."""
    from chain.client import LedgerClient

    client = LedgerClient(url, key, reader=reader)
    figures: dict[tuple[str, str], float] = {}
    for cid in contracts:
        try:
            figures |= {(cid, d.dataset): d.committed_epsilon for d in client.budget(cid).datasets}
        except DepaError:
            continue
    return figures


@bundle_app.command("export")
def bundle_export(
    vkey: VkeyArg,
    output: Annotated[Path, typer.Option("-o", "--output", help="The bundle file to write.")],
    ledger: Annotated[
        str, typer.Option("--ledger", envvar="DEPA_LEDGER_URL", help="Ledger URL.")
    ] = "http://127.0.0.1:8000",
    reader: ReaderOpt = None,
) -> None:
    """Write the checkpoint and every entry it covers to one file, for `depa-audit verify --bundle`."""
    snapshot = snapshots.from_ledger(ledger, load_vkey(vkey), Signer.load(reader) if reader is not None else None)
    count = snapshots.write_bundle(snapshot, output)
    out.print(f"{count} entries and their signed checkpoint written to {output}")


@app.command("witness")
def witness_command(
    vkey: VkeyArg,
    key: Annotated[Path, typer.Option("--key", help="The witness's Ed25519 signing key (PEM).")],
    name: Annotated[str, typer.Option("--name", help="The witness's key name, e.g. witness.example.org.")],
    state: Annotated[Path, typer.Option("--state", help="Folder keeping the last checkpoint witnessed.")],
    ledger: Annotated[str, typer.Option("--ledger", envvar="DEPA_LEDGER_URL", help="Ledger URL.")] = DEFAULT_LEDGER,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was cosigned as JSON.")] = False,
) -> None:
    """Check the ledger's new checkpoint is consistent with the last one witnessed, then cosign it."""
    signer = Signer.load(key)
    try:
        done = witness(ledger, load_vkey(vkey), signer, name, state)
    except ForkError as exc:
        err.print(f"[red]fork:[/] {exc.detail}\n--- witnessed ---\n{exc.old}--- served ---\n{exc.new}", highlight=False)
        raise typer.Exit(3) from exc
    if as_json:
        cosigned = {"size": done.size, "previous": done.previous, "witness": str(witness_vkey(name, signer))}
        out.print(json.dumps(cosigned, indent=2), highlight=False, markup=False)
        return
    since = f"consistent with {done.previous}" if done.previous is not None else "first checkpoint witnessed"
    out.print(f"cosigned checkpoint {done.size} ({since}) as {witness_vkey(name, signer)}")


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise MalformedInput(f"--at {text!r} is not an ISO 8601 time (e.g. 2025-06-01T12:00:00Z)") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@attestation_app.command("verify")
def attestation_verify(
    files: Annotated[list[Path], typer.Argument(help="Reports, quotes, HCL reports, certificates, evidence JSON.")],
    vcek: Annotated[list[Path] | None, typer.Option("--vcek", help="VCEK or VLEK certificate (PEM or DER).")] = None,
    chain: Annotated[
        list[Path] | None, typer.Option("--chain", help="ASK/ARK chain (PEM), e.g. KDS cert_chain.")
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Attestation policy JSON.")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Check certificate validity at this time (default now).")
    ] = None,
    simulated_root: Annotated[
        list[Path] | None, typer.Option("--simulated-root", help="Trust this simulated ARK (results are INSECURE).")
    ] = None,
    collateral: Annotated[
        Path | None,
        typer.Option("--collateral", help="Intel's TDX collateral: dcap-qvl JSON, or a folder of Intel PCS responses."),
    ] = None,
    crl: Annotated[
        Path | None, typer.Option("--crl", help="AMD's CRL for the ARK (KDS /vcek/v1/PRODUCT/crl), PEM or DER.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Verify every report or quote among FILES; exit 0 only when every one verifies."""
    results = verify_files(
        [*files, *(vcek or []), *(chain or [])],
        load_policy(policy),
        at=_when(at),
        simulated_roots=load_simulated_roots(simulated_root or []),
        collateral=load_collateral(collateral) if collateral is not None else None,
        crl=load_crl(crl) if crl is not None else None,
    )
    if as_json:
        out.print_json(json.dumps([r.model_dump(mode="json") for r in results]))
    else:
        for result in results:
            out.print(attestation_result(result))
    if not all(r.verified for r in results):
        raise typer.Exit(1)


def main() -> None:
    run(app, error_exit=2)
