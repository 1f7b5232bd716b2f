"""The consumer brings the model: the clean room trains the base model the contract names, records it in
run.start, derives the trained model from it, and refuses any other before a budget is reserved or a key asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from auditor.cli import app as audit
from ccr_agent.run import RunFailed, run
from ccr_agent.simulated import SimulatedTee
from chain.ledger.sqlstore import SqlStore
from chain.tlog.entry import decode
from schemas.digest import artefact_digest
from tests.world import World, build, running
from trainers import dp_sgd
from trainers.export import write_outputs


def base_model(folder: Path, hidden: int = 8) -> Path:
    """The consumer's network for the test data (income, overdue -> default or not), exported as ONNX."""
    write_outputs(dp_sgd.mlp(2, 2, [hidden]), torch.zeros(1, 2), {}, folder)
    return folder / "model.onnx"


@pytest.fixture
def world(tmp_path: Path, simulator: SimulatedTee):
    store = SqlStore(f"sqlite:///{tmp_path / 'ledger.db'}")
    with running(build(tmp_path, simulator, store=store, base_model=base_model(tmp_path / "consumer"))) as w:
        yield w


def statements(world: World) -> list[tuple[str, dict]]:
    found = [decode(leaf).statement for leaf in world.ledger.leaves(0, 1000)]
    return [(st["typ"].split("/")[1].split("@")[0], st["body"]) for st in found]


def logged(world: World, run_id: str) -> list[str]:
    return [k for k, b in statements(world) if b.get("run_id") == run_id]


def test_the_contracts_base_model_is_trained_and_the_model_derives_from_it(world: World) -> None:
    given = world.root / "consumer" / "model.onnx"
    base, _ = artefact_digest(given)
    report = run(world.spec(run_id="r1", base_model=given), world.producer())
    assert world.ledger.registry.runs["r1"].base_model == base
    start = next(b for k, b in statements(world) if k == "run.start")
    assert start["base_model"] == base
    model = next(d for d, p in report.outputs.items() if p.name == "model.onnx.age")
    up = {n.id for n in world.client("consumer").lineage(model, "up").graph().nodes}
    assert base in up and {i.digest for i in world.inputs} <= up
    args = ["verify", "--database", f"sqlite:///{world.root / 'ledger.db'}", "--vkey", world.vkey, "--json"]
    done = CliRunner().invoke(audit, args)
    assert done.exit_code == 0, done.output
    found = {(f["check"], f["status"]) for f in json.loads(done.output)["findings"] if f["scope"] == "run r1"}
    assert {("base-model", "pass"), ("outputs", "pass")} <= found


def test_another_model_than_the_contracts_is_refused_before_any_budget_or_key(world: World) -> None:
    other = base_model(world.root / "other", hidden=4)
    with pytest.raises(RunFailed, match="not the sha256:.* the contract names"):
        run(world.spec(run_id="r2", base_model=other), world.producer())
    assert logged(world, "r2") == ["attestation.report", "run.complete"]  # no reservation, release or start


def test_a_run_spec_without_the_contracts_base_model_is_refused(world: World) -> None:
    with pytest.raises(RunFailed, match="names base model sha256:.*the run spec gives none"):
        run(world.spec(run_id="r3"), world.producer())
    assert "budget.reserve" not in logged(world, "r3")
