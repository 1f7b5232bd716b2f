"""RDP accounting: the reference figures, composition by curves, and noise planned against the composed curve."""

from __future__ import annotations

import pytest
from dp_accounting import dp_event
from dp_accounting.rdp import rdp_privacy_accountant

from chain import budget
from schemas.errors import Unprocessable
from schemas.statement import Segment

DELTA = 1e-5
RUN = Segment(noise_multiplier=1.0, sample_rate=0.01, steps=1000)


def test_one_run_spends_the_reference_epsilon() -> None:
    assert budget.epsilon(budget.curve([RUN]), DELTA) == pytest.approx(2.1014, abs=1e-4)


def test_three_runs_compose_to_3_511_not_6_30() -> None:
    assert budget.epsilon(budget.curve([RUN] * 3), DELTA) == pytest.approx(3.511, abs=1e-3)


@pytest.mark.parametrize(("q", "sigma", "steps"), [(0.01, 1.0, 1000), (0.1, 2.5, 37), (0.004, 0.7, 5000)])
def test_the_curve_is_what_dp_accountings_rdp_accountant_composes(q: float, sigma: float, steps: int) -> None:
    accountant = rdp_privacy_accountant.RdpAccountant(orders=list(budget.ORDERS))
    accountant.compose(dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)
    ours = budget.epsilon(budget.curve([Segment(noise_multiplier=sigma, sample_rate=q, steps=steps)]), DELTA)
    assert ours == pytest.approx(accountant.get_epsilon(DELTA), rel=1e-9)


def test_nothing_spent_is_epsilon_zero() -> None:
    assert budget.epsilon(budget.ZERO, DELTA) == 0.0


def test_a_commit_within_its_reservation_holds_at_every_order() -> None:
    reserved = budget.curve([RUN])
    assert budget.within(budget.curve([RUN.model_copy(update={"steps": 600})]), reserved)
    assert not budget.within(budget.curve([RUN.model_copy(update={"steps": 1001})]), reserved)
    assert not budget.within(budget.curve([RUN.model_copy(update={"noise_multiplier": 0.9})]), reserved)


def test_remaining_is_the_cap_less_the_composed_spend() -> None:
    spend = budget.DatasetBudget(cap=7.5, delta=DELTA, committed=budget.curve([RUN]))
    spend.reserved["r"] = budget.curve([RUN])
    assert spend.remaining() == pytest.approx(7.5 - budget.epsilon(budget.curve([RUN] * 2), DELTA))


def test_planned_noise_lands_on_the_cap_of_the_composed_curve() -> None:
    spend = budget.DatasetBudget(cap=3.511, delta=DELTA, committed=budget.curve([RUN] * 2))
    sigma = budget.plan_noise(spend, 0.01, 1000)
    assert sigma == pytest.approx(1.0, abs=2e-3)  # the third reference run fits exactly
    planned = spend.composed_epsilon(1000 * budget.step_curve(0.01, sigma))
    assert planned == pytest.approx(3.511, abs=1e-3) and planned <= 3.511


def test_planning_against_cap_minus_spent_would_waste_budget() -> None:
    spend = budget.DatasetBudget(cap=3.511, delta=DELTA, committed=budget.curve([RUN] * 2))
    naive = budget.DatasetBudget(cap=3.511 - spend.committed_epsilon(), delta=DELTA)
    assert budget.plan_noise(naive, 0.01, 1000) > budget.plan_noise(spend, 0.01, 1000) * 1.5


def test_an_exhausted_budget_has_no_plan() -> None:
    spend = budget.DatasetBudget(cap=2.0, delta=DELTA, committed=budget.curve([RUN]))
    with pytest.raises(Unprocessable, match="no budget left"):
        budget.plan_noise(spend, 0.01, 1000)
