"""The spend of each dataset, recomputed from the raw segments with dp-accounting's RDP and PLD accountants."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Protocol

from pydantic import BaseModel

from auditor.replay import Logged, World
from privacy.budget import ORDERS, converted, filter_order
from schemas.statement import Segment

# dp-accounting is imported on first use, as in privacy.budget: it takes 0.6 s, which every command and the
# ledger's start (it serves the web console, which imports the auditor) would otherwise pay.


@cache
def _grid() -> tuple[float, ...]:
    """The orders of dp-accounting's RdpAccountant (the ledger's ORDERS and one more, 1024)."""
    from dp_accounting.rdp import rdp_privacy_accountant

    return tuple(float(o) for o in rdp_privacy_accountant.RdpAccountant()._orders)


def rdp_curve(segments: Iterable[Segment]):
    """RDP composed segment by segment, each segment's curve clipped at zero before it is added (one value per
    order of dp-accounting's default grid).

    RDP is never negative; dp-accounting's floating point gives values near -1e-16 at large noise, which
    many steps would turn into budget bought back. Clipping the sum would let one segment offset another.
    """
    import numpy as np
    from dp_accounting import dp_event
    from dp_accounting.rdp import rdp_privacy_accountant

    total = np.zeros(len(_grid()))
    for seg in segments:
        one = rdp_privacy_accountant.RdpAccountant()
        one.compose(dp_event.PoissonSampledDpEvent(seg.sample_rate, dp_event.GaussianDpEvent(seg.noise_multiplier)))
        total = total + seg.steps * np.maximum(one._rdp, 0.0)  # the accountant keeps its curve in _rdp
    return total


def filter_epsilon(curve, cap: float, delta: float) -> float:
    """What the budget filter certifies for an RDP curve: its value at the order the cap and delta fix, converted."""
    order = ORDERS[filter_order(cap, delta)]
    return converted(float(curve[_grid().index(order)]), order, delta) if curve.any() else 0.0


def best_epsilon(curve, delta: float) -> float:
    """The best order's reading of a fixed history: what one run, chosen in advance, could claim (not a filter)."""
    from dp_accounting.rdp import rdp_privacy_accountant

    return float(rdp_privacy_accountant.compute_epsilon(_grid(), curve, delta)[0]) if curve.any() else 0.0


def odometer(curve, delta: float) -> float:
    """The realised privacy loss so far, bounded at every moment at once, whatever the runs chose and when.

    At a fixed order, exp((order - 1) (loss - RDP spent)) is a nonnegative supermartingale under fully adaptive
    composition, so by Ville's inequality the loss stays below RDP + log(1/delta') / (order - 1) at all times but
    with probability delta' (Whitehouse, Ramdas, Rogers and Wu 2023). Delta split evenly over the grid's orders
    makes the best order's bound hold for all of them together. A reading, not a filter: it stops nothing."""
    import numpy as np

    if not curve.any():
        return 0.0
    orders = np.asarray(_grid())
    return float(np.min(curve + np.log(len(orders) / delta) / (orders - 1)))


def rdp_epsilon(segments: Iterable[Segment], delta: float) -> float:
    return best_epsilon(rdp_curve(segments), delta)


def pld_epsilon(segments: Iterable[Segment], delta: float) -> float:
    from dp_accounting.pld import pld_privacy_accountant

    return _compose(pld_privacy_accountant.PLDAccountant(), segments, delta)


def _compose(accountant, segments: Iterable[Segment], delta: float) -> float:
    """Epsilon at delta of the segments composed by one of dp-accounting's accountants (0 for none)."""
    from dp_accounting import dp_event

    segments = list(segments)
    for seg in segments:
        event = dp_event.PoissonSampledDpEvent(seg.sample_rate, dp_event.GaussianDpEvent(seg.noise_multiplier))
        accountant.compose(event, seg.steps)
    return accountant.get_epsilon(delta) if segments else 0.0


class DatasetSpend(BaseModel):
    dataset: str
    cap: float
    delta: float
    spent_rdp: float  # what the filter certifies: RDP at the dataset's fixed order
    spent_best_order: float  # the best order's reading of the same history, for comparison
    spent_pld: float
    odometer: float  # the realised loss so far, at every moment at once (Whitehouse et al. 2023)
    reserved_runs: list[str]
    composed_rdp: float  # committed and still-reserved, composed, as the filter counts it
    remaining: float


class Spending(Protocol):
    """What a dataset's budget statements change: privacy.budget.DatasetBudget, or the auditor's Held."""

    def reserve(self, run_id: str, segments: list[Segment]) -> None: ...
    def commit(self, run_id: str, segments: list[Segment]) -> None: ...
    def release(self, run_id: str) -> None: ...


def replay(events: Iterable[Logged], into: Spending) -> Iterator[Logged]:
    """The one reading of a dataset's reserve, commit and abort statements: each applied to `into` in log
    order, and yielded once it is (the audit's totals take the end, the console's series every step)."""
    for event in events:
        b = event.body
        if event.statement.kind == "budget.reserve":
            into.reserve(b.run_id, list(b.segments))
        elif event.statement.kind == "budget.commit":
            into.commit(b.run_id, list(b.segments))
        else:
            into.release(b.run_id)
        yield event


class Held:
    """The segments a dataset's runs committed, and those still held in reserve, run by run. A commit or abort
    without a reservation changes no reservation: the audit's checks report it, the totals count what was
    logged."""

    def __init__(self) -> None:
        self.committed: list[Segment] = []
        self.reserved: dict[str, list[Segment]] = {}

    def reserve(self, run_id: str, segments: list[Segment]) -> None:
        self.reserved[run_id] = segments

    def commit(self, run_id: str, segments: list[Segment]) -> None:
        self.reserved.pop(run_id, None)
        self.committed += segments

    def release(self, run_id: str) -> None:
        self.reserved.pop(run_id, None)


def spend(world: World, contract_id: str) -> list[DatasetSpend]:
    rows = []
    for cap, events in world.capped(contract_id):
        held = Held()
        for _ in replay(events, held):
            pass
        committed = held.committed
        composed = filter_epsilon(
            rdp_curve([*committed, *(s for v in held.reserved.values() for s in v)]), cap.epsilon_threshold, cap.delta
        )
        spent = rdp_curve(committed)
        rows.append(
            DatasetSpend(
                dataset=cap.dataset,
                cap=cap.epsilon_threshold,
                delta=cap.delta,
                spent_rdp=filter_epsilon(spent, cap.epsilon_threshold, cap.delta),
                spent_best_order=best_epsilon(spent, cap.delta),
                spent_pld=pld_epsilon(committed, cap.delta),
                odometer=odometer(spent, cap.delta),
                reserved_runs=sorted(held.reserved),
                composed_rdp=composed,
                remaining=max(0.0, cap.epsilon_threshold - composed),
            )
        )
    return rows
