"""The privacy budget fails closed: no reservation buys budget back, the accountant is never handed a value it
cannot score, and the contract's minimum noise multiplier binds every run on the ledger itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.accounting import rdp_epsilon
from ccr_agent.simulated import SimulatedTee
from privacy import budget
from schemas.errors import BudgetExceeded, SchemaViolation, Unprocessable
from schemas.statement import MAX_NOISE_MULTIPLIER, Segment
from tests.clean_room import Room, room
from tests.conftest import Collab

POISON = [(3e8, 0.3, 2**53 - 1)]  # four of these once took a 7.44 spend down to 5.44


@pytest.fixture
def r(collab: Collab, simulator: SimulatedTee) -> Room:
    return room(collab, simulator)


def composed(r: Room) -> float:
    return r.collab.ledger.registry.budgets[(r.cid, r.dataset)].composed_epsilon()


def test_reservations_with_huge_noise_never_buy_budget_back(r: Room) -> None:
    """The attack: RDP values near -1e-16 times 2^53 steps bought back budget, so a refused run was admitted."""
    for run in ("honest", "later"):
        r.attest(run)
    r.reserve("honest", steps=12000)  # epsilon 7.44 of the 7.5 cap
    before = composed(r)
    with pytest.raises(BudgetExceeded):
        r.reserve("later", steps=1000)
    for i in range(10):
        sigma, q, steps = POISON[i % len(POISON)]
        r.attest(f"poison-{i}")
        try:
            r.reserve(f"poison-{i}", sigma=sigma, q=q, steps=steps)
        except (SchemaViolation, Unprocessable, BudgetExceeded):
            pass
    assert composed(r) >= before
    with pytest.raises(BudgetExceeded):
        r.reserve("later", steps=1000)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(1e-2, MAX_NOISE_MULTIPLIER),
    st.floats(1e-9, 1.0),
)
def test_no_order_of_any_admissible_step_is_negative_or_nan(sigma: float, q: float) -> None:
    curve = budget.step_curve(q, sigma)
    assert not np.isnan(curve).any() and (curve >= 0).all()


@pytest.mark.parametrize(
    "segment",
    [
        {"noise_multiplier": 1e8, "sample_rate": 0.01, "steps": 10},
        {"noise_multiplier": 1e-162, "sample_rate": 0.01, "steps": 10},
        {"noise_multiplier": 1.0, "sample_rate": 1e-300, "steps": 10},
        {"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 2**53 - 1},
    ],
)
def test_segments_outside_what_the_accountant_scores_are_refused_at_the_schema(segment: dict) -> None:
    with pytest.raises(ValueError):
        Segment.model_validate(segment)


def test_more_segments_than_any_run_has_are_refused(r: Room) -> None:
    r.attest("run-1")
    body = {"contract_id": r.cid, "dataset": r.dataset, "delta": 1e-5}
    segment = {"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 1}
    with pytest.raises(SchemaViolation, match="segments"):
        r.agent("run-1", "budget.reserve", {**body, "segments": [segment] * 1001})


def test_the_auditors_accountant_clips_each_segment_too() -> None:
    honest = Segment(noise_multiplier=1.0, sample_rate=0.01, steps=12000)
    poison = Segment.model_construct(noise_multiplier=3e8, sample_rate=0.3, steps=2**53 - 1)
    assert rdp_epsilon([honest, *[poison] * 10], 1e-5) >= rdp_epsilon([honest], 1e-5)


def test_the_contracts_minimum_noise_binds_every_reservation_on_the_ledger(
    collab: Collab, simulator: SimulatedTee
) -> None:
    cap = {"dataset": "ds-0", "epsilon_threshold": "7.5", "delta": "0.00001", "noise_multiplier": "2"}
    r = room(collab, simulator, constraints=[{"privacy": [cap]}])
    r.attest("run-1")
    with pytest.raises(Unprocessable, match="below the contract's minimum 2.0"):
        r.reserve("run-1", sigma=1.0)
    r.reserve("run-1", sigma=2.0)
    with pytest.raises(Unprocessable, match="below the contract's minimum"):
        r.reserve("run-1", sigma=1.5, steps=10, kind="commit")


@pytest.mark.parametrize(("sigma", "q"), [(3e8, 0.3), (1e9, 0.5), (1e8, 0.01)])
def test_the_ledgers_accountant_clips_what_the_schema_would_refuse_too(sigma: float, q: float) -> None:
    """Defence in depth: were the schema's bounds ever widened, no order could still go negative."""
    assert (budget.step_curve(q, sigma) >= 0).all()
