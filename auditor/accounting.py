"""The spend of each dataset, recomputed from the raw segments with dp-accounting's RDP and PLD accountants."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from auditor.replay import World
from schemas.statement import Segment

# dp-accounting is imported on first use, as in chain.budget: it takes 0.6 s, which every command and the
# ledger's start (it serves the web console, which imports the auditor) would otherwise pay.


def rdp_epsilon(segments: Iterable[Segment], delta: float) -> float:
    """RDP composed segment by segment, each segment's curve clipped at zero before it is added.

    RDP is never negative; dp-accounting's floating point gives values near -1e-16 at large noise, which
    many steps would turn into budget bought back. Clipping the sum would let one segment offset another.
    """
    import numpy as np
    from dp_accounting import dp_event
    from dp_accounting.rdp import rdp_privacy_accountant

    total = None
    for seg in segments:
        one = rdp_privacy_accountant.RdpAccountant()
        one.compose(dp_event.PoissonSampledDpEvent(seg.sample_rate, dp_event.GaussianDpEvent(seg.noise_multiplier)))
        curve = seg.steps * np.maximum(one._rdp, 0.0)  # the accountant keeps its curve in _rdp
        total = curve if total is None else total + curve
    if total is None or not total.any():
        return 0.0
    return float(rdp_privacy_accountant.compute_epsilon(one._orders, total, delta)[0])


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
    spent_rdp: float
    spent_pld: float
    reserved_runs: list[str]
    composed_rdp: float  # committed and still-reserved, composed
    remaining: float


def spend(world: World, contract_id: str) -> list[DatasetSpend]:
    rows = []
    for cap, events in world.capped(contract_id):
        committed, held = [], {}
        for event in events:
            b = event.statement.body
            if event.statement.kind == "budget.reserve":
                held[b.run_id] = list(b.segments)
            elif event.statement.kind == "budget.commit":
                held.pop(b.run_id, None)
                committed += b.segments
            else:
                held.pop(b.run_id, None)
        composed = rdp_epsilon([*committed, *(s for v in held.values() for s in v)], cap.delta)
        rows.append(
            DatasetSpend(
                dataset=cap.dataset,
                cap=cap.epsilon_threshold,
                delta=cap.delta,
                spent_rdp=rdp_epsilon(committed, cap.delta),
                spent_pld=pld_epsilon(committed, cap.delta),
                reserved_runs=sorted(held),
                composed_rdp=composed,
                remaining=max(0.0, cap.epsilon_threshold - composed),
            )
        )
    return rows
