"""`depa-audit`: independent verification of a depa-chain ledger and of clean-room evidence."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from auditor.attestation import load_policy, load_simulated_roots, verify_files
from auditor.render import attestation_result
from chain.console import out, run
from schemas.errors import MalformedInput

app = typer.Typer(help="depa-audit: verify depa-chain evidence independently.", no_args_is_help=True)
attestation_app = typer.Typer(help="Verify SEV-SNP and TDX attestation evidence offline.", no_args_is_help=True)
app.add_typer(attestation_app, name="attestation")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo("depa-audit 0.1.0")


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Verify every report or quote among FILES; exit 0 only when every one verifies."""
    results = verify_files(
        [*files, *(vcek or []), *(chain or [])],
        load_policy(policy),
        at=_when(at),
        simulated_roots=load_simulated_roots(simulated_root or []),
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
