"""A contract may name the consumer's base model: the ledger then admits only runs that train it, and only models
that derive from it; the auditor checks the same from the log alone."""

from __future__ import annotations

import hashlib

import pytest

from auditor.checks import run_findings
from ccr_agent.simulated import SimulatedTee
from chain.ledger.rules import RULES, runs
from schemas.errors import Unprocessable
from tests.auditor.conftest import replayed
from tests.clean_room import Room, room
from tests.conftest import Collab


def registered_model(collab: Collab, name: str = "base.onnx", kind: str = "model") -> str:
    digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    collab.send(collab.tdc.key, "artefact.register", {"digest": digest, "name": name, "kind": kind})
    return digest


def started(collab: Collab, simulator: SimulatedTee, base: str) -> Room:
    r = room(collab, simulator, base_model=base)
    r.attest("run-1")
    r.reserve("run-1")
    return r


def test_a_contract_naming_an_unregistered_base_model_is_refused(collab: Collab) -> None:
    with pytest.raises(Unprocessable, match="is not a registered model"):
        collab.propose(base_model="sha256:" + "ab" * 32)


def test_a_contract_naming_a_dataset_as_its_base_model_is_refused(collab: Collab) -> None:
    with pytest.raises(Unprocessable, match="is not a registered model"):
        collab.propose(base_model=registered_model(collab, "table.csv", kind="dataset"))


def test_a_run_trains_the_contracts_base_model_and_its_model_derives_from_it(
    collab: Collab, simulator: SimulatedTee
) -> None:
    base = registered_model(collab)
    r = started(collab, simulator, base)
    r.start("run-1", base_model=base)
    r.output("run-1", derived_from=[r.digest, base])
    assert collab.ledger.registry.runs["run-1"].base_model == base
    assert base in {n.id for n in collab.ledger.lineage(r.output("run-1", "model.onnx", [base]), "up").graph().nodes}
    world = replayed(collab)
    found = {f.check: f.status for f in run_findings(world, "run-1", world.runs["run-1"])}
    assert found["base-model"] == "pass"


def test_a_run_that_names_no_base_model_under_a_contract_that_names_one_is_refused(
    collab: Collab, simulator: SimulatedTee
) -> None:
    r = started(collab, simulator, registered_model(collab))
    with pytest.raises(Unprocessable, match="trains base model none; contract .* names sha256:"):
        r.start("run-1")


def test_a_run_that_trains_another_model_is_refused(collab: Collab, simulator: SimulatedTee) -> None:
    r = started(collab, simulator, registered_model(collab))
    with pytest.raises(Unprocessable, match="trains base model sha256:.*names sha256:"):
        r.start("run-1", base_model=registered_model(collab, "other.onnx"))


def test_a_model_output_that_does_not_derive_from_the_base_model_is_refused(
    collab: Collab, simulator: SimulatedTee
) -> None:
    base = registered_model(collab)
    r = started(collab, simulator, base)
    r.start("run-1", base_model=base)
    with pytest.raises(Unprocessable, match="derives from its base model"):
        r.output("run-1")


def test_the_audit_fails_a_run_a_ledger_let_train_another_model(
    collab: Collab, simulator: SimulatedTee, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, other = registered_model(collab), registered_model(collab, "other.onnx")
    r = started(collab, simulator, base)
    # a ledger that checks nothing when a run starts
    monkeypatch.setitem(RULES, "run.start", (lambda *_: None, runs.apply_start))
    r.start("run-1", base_model=other)
    world = replayed(collab)
    failed = [f for f in run_findings(world, "run-1", world.runs["run-1"]) if f.check == "base-model"]
    assert failed[0].status == "fail" and f"trains {other}; the contract names {base}" in failed[0].reason
