"""`depa-ccr`: the clean-room agent. Attestation commands now; the run itself arrives with the clean-room issue."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated

import typer

from ccr_agent.attest import Producer, produce_evidence
from ccr_agent.simulated import SimulatedTee
from ccr_agent.tsm import TeeUnavailable
from chain.console import err, out, read_file, run, version_option
from schemas.errors import MalformedInput, NoTee

app = typer.Typer(help="depa-ccr: the agent inside a confidential clean room.", no_args_is_help=True)
version_option(app, "depa-ccr")
simulator_app = typer.Typer(help="A simulated SEV-SNP TEE for machines without one (INSECURE).", no_args_is_help=True)
app.add_typer(simulator_app, name="simulator")


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo("depa-ccr 0.1.0")


@simulator_app.command("init")
def simulator_init(folder: Annotated[Path, typer.Argument(help="Where the simulator keeps its VCEK key and chain.")]):
    """Create (or open) a simulator and print the ARK pin a contract puts in ccr.simulated_roots
    (`depa-chain contract import --simulated-root` takes it)."""
    sim = SimulatedTee.open(folder)
    err.print(f"[bold red]INSECURE[/] simulated TEE in {folder}; whoever holds this folder can sign any report.")
    err.print(f"chain: {folder / 'chain.pem'}")
    err.print(f'contract terms: "ccr": {{"allow_simulated": true, "simulated_roots": ["{sim.root.sha256}"]}}')
    out.print(sim.root.sha256, highlight=False)


@app.command()
def attest(
    report_data: Annotated[str, typer.Option("--report-data", help="The 64 bytes of REPORT_DATA, in hex.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the evidence JSON here.")],
    simulator: Annotated[Path | None, typer.Option("--simulator", help="Fall back to this simulator.")] = None,
) -> None:
    """Get evidence over REPORT_DATA from the TEE (configfs-tsm, then /dev/sev-guest, then the simulator)."""
    try:
        data = bytes.fromhex(report_data)
    except ValueError as exc:
        raise MalformedInput("--report-data is not hex", remedy="pass 128 hex digits") from exc
    if len(data) != 64:
        raise MalformedInput(f"--report-data is {len(data)} bytes", remedy="pass 128 hex digits (64 bytes)")
    producer = Producer(simulator=SimulatedTee.open(simulator) if simulator else None)
    try:
        evidence = produce_evidence(data, producer, allow_simulated=simulator is not None)
    except TeeUnavailable as exc:
        raise NoTee(str(exc)) from exc
    output.write_text(json.dumps(evidence.model_dump(mode="json", exclude_none=True), indent=2) + "\n")
    out.print(f"{evidence.type} evidence written to {output}")


@app.command("run")
def run_command(
    spec: Annotated[Path, typer.Argument(help="The run spec JSON (ledger, vkey, contract_id, pipeline, inputs...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the run, its outputs and receipts as JSON.")] = False,
) -> None:
    """Run a pipeline in this clean room, every step on the ledger; exit non-zero if the run fails."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ccr_agent.run import RunSpec, run

    try:
        parsed = RunSpec.model_validate_json(read_file(spec))
    except ValueError as exc:
        raise MalformedInput(f"{spec}: {str(exc).splitlines()[0]}") from exc
    producer = Producer(simulator=SimulatedTee.open(parsed.simulator) if parsed.simulator else None)
    columns = SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("starting")

        def step(text: str) -> None:
            progress.update(task, description=text)
            if not err.is_terminal:  # in a log, each step is a line of its own
                err.print(f"{run_id}: {text}", highlight=False)

        run_id = parsed.run_id
        report = run(parsed, producer, step=step)
    if as_json:  # no metrics: they are the recipients', encrypted to them in metrics.json
        outputs = {digest: str(path) for digest, path in report.outputs.items()}
        out.print(json.dumps({"run_id": report.run_id, "outputs": outputs, "receipts": report.receipts}, indent=2),
                  highlight=False, markup=False)  # fmt: skip
        return
    out.print(f"run {report.run_id} succeeded: {len(report.outputs)} outputs in {parsed.output_dir}, "
              f"{report.receipts} receipts verified")  # fmt: skip


@app.command()
def plan(
    contract: Annotated[str, typer.Argument(help="The contract id (sha256:...).")],
    dataset: Annotated[str, typer.Option("--dataset", help="The contract's dataset id.")],
    sample_rate: Annotated[float, typer.Option("--sample-rate", help="Poisson rate: expected batch / records.")],
    steps: Annotated[int, typer.Option("--steps", help="Training steps.")],
    ledger: Annotated[str, typer.Option("--ledger", envvar="DEPA_LEDGER_URL")] = "http://127.0.0.1:8000",
    vkey: Annotated[str | None, typer.Option("--vkey", envvar="DEPA_VKEY")] = None,
    key: Annotated[
        Path | None, typer.Option("--key", envvar="DEPA_KEY", help="A party key of the contract, to sign the read.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """The noise multiplier that spends exactly the dataset's remaining budget, composed with what is spent."""
    from chain.client import LedgerClient, fetch_vkey
    from privacy import budget
    from schemas.keys import Signer

    reader = Signer.load(key) if key is not None else None
    client = LedgerClient(ledger, vkey or fetch_vkey(ledger), reader=reader)
    view = next((d for d in client.budget(contract).datasets if d.dataset == dataset), None)
    if view is None:
        raise MalformedInput(
            f"contract {contract} caps no dataset {dataset}", remedy="name a dataset the contract caps"
        )
    spend = budget.DatasetBudget(cap=view.cap, delta=view.delta)
    spend.committed = budget.curve(view.committed_segments + view.reserved_segments)
    sigma = math.ceil(budget.plan_noise(spend, sample_rate, steps) * 1e4) / 1e4  # printed up: never past the cap
    if as_json:
        plan = {"noise_multiplier": sigma, "remaining_epsilon": view.remaining_epsilon, "cap": view.cap,
                "delta": view.delta, "dataset": dataset, "sample_rate": sample_rate, "steps": steps}  # fmt: skip
        out.print(json.dumps(plan, indent=2), highlight=False, markup=False)
        return
    out.print(
        f"noise_multiplier {sigma:.4f} spends the remaining {view.remaining_epsilon:.4f} of epsilon {view.cap:g} "
        f"(delta {view.delta:g}) on {dataset} at sample rate {sample_rate} over {steps} steps"
    )


def _add_commands() -> None:
    """Command groups installed packages add to depa-ccr (`scenario`, from the scenarios), by entry point: the
    agent imports nothing above it."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="depa_ccr.commands"):
        app.add_typer(ep.load(), name=ep.name)


_add_commands()


def main() -> None:
    run(app)
