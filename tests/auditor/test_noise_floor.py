"""The contract's minimum noise multiplier, checked by the auditor too: a ledger that let a run below it spend
is caught."""

from __future__ import annotations

import pytest

from auditor.checks import budget_findings
from ccr_agent.simulated import SimulatedTee
from chain.ledger.rules import budget
from tests.auditor.conftest import replayed
from tests.clean_room import room
from tests.conftest import Collab

FLOOR = [{"privacy": [{"dataset": "ds-0", "epsilon_threshold": 7.5, "delta": 1e-5, "noise_multiplier": 2.0}]}]


def noise_findings(collab: Collab) -> list[str]:
    world = replayed(collab)
    return [f.reason for f in budget_findings(world) if f.check == "noise"]


def test_spend_at_the_contracts_minimum_noise_passes(collab: Collab, simulator: SimulatedTee) -> None:
    r = room(collab, simulator, constraints=FLOOR)
    r.attest("run-1")
    r.reserve("run-1", sigma=2.0)
    assert noise_findings(collab) == []


def test_spend_below_the_contracts_minimum_noise_fails_the_audit(
    collab: Collab, simulator: SimulatedTee, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "_spend_terms", lambda reg, run, body: reg.budget_of(run.contract_id, body.dataset))
    r = room(collab, simulator, constraints=FLOOR)
    r.attest("run-1")
    r.reserve("run-1", sigma=0.9, steps=10)
    assert noise_findings(collab) == ["run run-1 spent noise multiplier 0.9, below the contract's minimum 2.0"]
