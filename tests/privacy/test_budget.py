"""RDP accounting: the reference figures, composition by curves, and noise planned against the composed curve."""

from __future__ import annotations

import pytest
from dp_accounting import dp_event
from dp_accounting.rdp import rdp_privacy_accountant

from privacy import budget
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
    assert spend.remaining() == pytest.approx(7.5 - spend.certified(budget.curve([RUN] * 2)))


def test_planned_noise_lands_on_the_cap_of_the_composed_curve() -> None:
    spend = budget.DatasetBudget(cap=3.511, delta=DELTA, committed=budget.curve([RUN] * 2))
    sigma = budget.plan_noise(spend, 0.01, 1000)
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


# --- the filter: one order, fixed by the cap and delta before any run (docs/audit.md) ------------------------


def test_the_filters_order_depends_on_the_cap_and_delta_alone() -> None:
    assert budget.ORDERS[budget.filter_order(7.5, DELTA)] == 4.0
    empty, spent = budget.DatasetBudget(cap=7.5, delta=DELTA), budget.DatasetBudget(7.5, DELTA, budget.curve([RUN]))
    assert empty.order == spent.order  # no history moves it


@pytest.mark.parametrize("index", [0, 29, 100, len(budget.ORDERS) - 1])
def test_the_conversion_is_dp_accountings_at_that_order(index: int) -> None:
    order = budget.ORDERS[index]
    ours = budget.converted(0.8, order, DELTA)
    theirs = rdp_privacy_accountant.compute_epsilon([order], [0.8], DELTA)[0]
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_a_spend_that_only_another_order_would_certify_is_refused() -> None:
    """Low noise: at its own best order the run is 4.83, within the cap; at the filter's order 4 it is 9.12.
    The best order per history is no filter under adaptive composition, so the cap is read at order 4."""
    low_noise = budget.curve([Segment(noise_multiplier=0.6, sample_rate=0.01, steps=100)])
    spend = budget.DatasetBudget(cap=7.5, delta=DELTA)
    assert budget.epsilon(low_noise, DELTA) == pytest.approx(4.831, abs=1e-3)
    certified = spend.composed_epsilon(low_noise)
    assert certified == pytest.approx(9.121, abs=1e-3) and certified > spend.cap


def test_near_the_cap_the_filter_fits_almost_what_the_best_order_would() -> None:
    def fits(certify) -> int:
        low, high = 1, 100_000
        while high - low > 1:
            mid = (low + high) // 2
            spent = budget.curve([Segment(noise_multiplier=1.0, sample_rate=0.01, steps=mid)])
            low, high = (mid, high) if certify(spent) <= 7.5 else (low, mid)
        return low

    filtered = fits(budget.DatasetBudget(cap=7.5, delta=DELTA).certified)
    best = fits(lambda spent: budget.epsilon(spent, DELTA))
    assert (filtered, best) == (12_149, 12_167)
