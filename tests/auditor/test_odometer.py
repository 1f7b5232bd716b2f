"""The odometer: the realised privacy loss so far, valid at every moment at once whatever the runs chose."""

from __future__ import annotations

import math

from auditor.accounting import _grid, best_epsilon, odometer, rdp_curve
from schemas.statement import Segment


def spend(steps: int) -> object:
    return rdp_curve([Segment(noise_multiplier=1.1, sample_rate=0.01, steps=steps)])


def test_nothing_spent_reads_zero() -> None:
    assert odometer(spend(1) * 0, 1e-5) == 0.0


def test_it_grows_with_every_step_and_never_reads_below_a_run_fixed_in_advance() -> None:
    readings = [odometer(spend(steps), 1e-5) for steps in (10, 100, 1000, 10_000)]
    assert readings == sorted(readings)
    for steps, reading in zip((10, 100, 1000, 10_000), readings, strict=True):
        assert reading > best_epsilon(spend(steps), 1e-5)  # the price of a bound that holds at every moment


def test_it_is_the_best_order_with_delta_split_over_the_grid() -> None:
    curve, orders = spend(1000), _grid()
    by_hand = min(float(r) + math.log(len(orders) / 1e-5) / (a - 1) for r, a in zip(curve, orders, strict=True))
    assert odometer(curve, 1e-5) == by_hand
