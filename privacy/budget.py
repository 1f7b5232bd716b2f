"""The privacy budget (docs/design.md, flows): RDP curves of Poisson-subsampled Gaussian segments, per dataset.

RDP composes by addition, so a dataset's spend is one vector (per order) that grows with each segment.
Admission is an RDP filter at one order fixed by the dataset's cap and delta before any run (Feldman and
Zrnic 2021, Theorem 3.1): a reservation is admitted while the composed RDP at that order stays within the
budget that converts to the cap there. Choosing the best order for each history, as a single fixed run may,
is not a filter under adaptive composition; docs/audit.md states the theorem and what it costs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from schemas.errors import Unprocessable
from schemas.statement import Segment

# Pinned: dp-accounting's default grid without its last order, 1024. Changing it changes every figure the ledger
# has admitted.
ORDERS: tuple[float, ...] = tuple([1 + x / 10.0 for x in range(1, 100)] + list(range(11, 64)) + [128, 256, 512])
ZERO = np.zeros(len(ORDERS))


@lru_cache(maxsize=4096)
def step_curve(sample_rate: float, noise_multiplier: float) -> np.ndarray:
    """One step's RDP curve, from the function dp-accounting's RdpAccountant composes (tests pin the two equal).

    Fails closed. RDP is never negative, but the library's floating point gives values near -1e-16 at large
    noise multipliers; multiplied by many steps, they would buy back budget. So every order is clipped at
    zero, and an accountant that errs or answers NaN refuses the statement rather than scoring it.
    """
    try:
        raw = _rdp()._compute_rdp_poisson_subsampled_gaussian(sample_rate, noise_multiplier, ORDERS)
        curve: np.ndarray = np.maximum(np.asarray(raw, float), 0.0)
    except (ArithmeticError, ValueError) as exc:
        raise Unprocessable(
            f"the accountant cannot score noise {noise_multiplier} at sample rate {sample_rate}: {exc}"
        ) from None
    if np.isnan(curve).any():
        raise Unprocessable(f"the accountant gives no RDP value for noise {noise_multiplier} at rate {sample_rate}")
    curve.flags.writeable = False
    return curve


def converted(rdp: float, order: float, delta: float) -> float:
    """(order, rdp)-RDP as (epsilon, delta)-DP: Canonne, Kamath and Steinke 2020, Proposition 12, the conversion
    dp-accounting's compute_epsilon applies at each order (tests pin the two equal)."""
    return rdp + math.log((order - 1) / order) - (math.log(delta) + math.log(order)) / (order - 1)


@lru_cache(maxsize=1024)
def filter_order(cap: float, delta: float) -> int:
    """The index in ORDERS of the one order a dataset's filter checks, fixed by its cap and delta alone.

    The order admitting the largest Gaussian-shaped spend (RDP c * order, the shape DP-SGD's curves take at
    small sample rates): the argmax of B(order) / order, where B(order) converts to exactly the cap."""
    return max(range(len(ORDERS)), key=lambda i: (cap - converted(0.0, ORDERS[i], delta)) / ORDERS[i])


def curve(segments: Iterable[Segment]) -> np.ndarray:
    total = ZERO
    for seg in segments:
        total = total + seg.steps * step_curve(seg.sample_rate, seg.noise_multiplier)
    return total


def epsilon(rdp_curve: np.ndarray, delta: float) -> float:
    if not rdp_curve.any():
        return 0.0
    found = float(_rdp().compute_epsilon(ORDERS, rdp_curve, delta)[0])
    if np.isnan(found):
        raise Unprocessable("the accountant gives no epsilon for this spend")
    return found


def _rdp() -> Any:
    """dp-accounting, imported on first use: it takes 0.7 s, which every `depa-chain` command would otherwise pay."""
    from dp_accounting.rdp import rdp_privacy_accountant

    return rdp_privacy_accountant


def within(smaller: np.ndarray, larger: np.ndarray) -> bool:
    """Whether one spend is no larger than another at every order (what a commit owes its reservation)."""
    return bool(np.all(smaller <= larger * (1 + 1e-9) + 1e-12))


@dataclass
class DatasetBudget:
    """One dataset's cap under one contract, with what runs committed and what they hold reserved."""

    cap: float
    delta: float
    committed: np.ndarray = field(default_factory=lambda: ZERO)
    reserved: dict[str, np.ndarray] = field(default_factory=dict)
    # The raw segments behind the curves: what `depa-ccr plan` and the auditor recompute from.
    committed_segments: list[Segment] = field(default_factory=list)
    reserved_segments: dict[str, list[Segment]] = field(default_factory=dict)

    @property
    def order(self) -> int:
        """The filter's order, an index in ORDERS: fixed by cap and delta alone."""
        return filter_order(self.cap, self.delta)

    def certified(self, spend: np.ndarray) -> float:
        """The epsilon the filter certifies for a spend: its RDP at the filter's order, converted (0 for none)."""
        return converted(float(spend[self.order]), ORDERS[self.order], self.delta) if spend.any() else 0.0

    def reserve(self, run_id: str, segments: list[Segment]) -> None:
        self.reserved[run_id], self.reserved_segments[run_id] = curve(segments), list(segments)

    def commit(self, run_id: str, segments: list[Segment]) -> None:
        self.committed = self.committed + curve(segments)
        self.committed_segments += segments
        self.release(run_id)

    def release(self, run_id: str) -> None:
        del self.reserved[run_id], self.reserved_segments[run_id]

    def total(self, extra: np.ndarray = ZERO) -> np.ndarray:
        total: np.ndarray = self.committed + sum(self.reserved.values(), ZERO) + extra
        return total

    def committed_epsilon(self) -> float:
        return self.certified(self.committed)

    def composed_epsilon(self, extra: np.ndarray = ZERO) -> float:
        """The filter's epsilon for everything committed and reserved (plus `extra`), composed: at most the cap."""
        return self.certified(self.total(extra))

    def remaining(self) -> float:
        return max(0.0, self.cap - self.composed_epsilon())


def plan_noise(budget: DatasetBudget, sample_rate: float, steps: int) -> float:
    """The smallest noise multiplier whose segment, composed with the spend so far, the filter admits exactly."""
    if budget.composed_epsilon() >= budget.cap:
        raise Unprocessable("no budget left on this dataset: any further training exceeds the cap")
    return _least_noise(lambda sigma: budget.composed_epsilon(steps * step_curve(sample_rate, sigma)), budget.cap)


def noise_for(epsilon_: float, delta: float, sample_rate: float, steps: int) -> float:
    """The smallest noise multiplier that makes one run, fixed in advance, (epsilon, delta)-DP on its own (its
    best order: a single mechanism chosen before it runs needs no filter). The dataset's filter decides apart."""
    return _least_noise(lambda sigma: epsilon(steps * step_curve(sample_rate, sigma), delta), epsilon_)


def _least_noise(eps, target: float, tolerance: float = 1e-4) -> float:  # type: ignore[no-untyped-def]
    low, high = 0.1, 1.0
    while eps(high) > target:
        low, high = high, high * 2
        if high > 1e4:
            raise Unprocessable("even a noise multiplier of 10,000 exceeds the remaining budget")
    while high - low > tolerance:
        mid = (low + high) / 2
        low, high = (mid, high) if eps(mid) > target else (low, mid)
    return high


Draw = tuple[float, float]  # (epsilon, delta) a contract draws from a dataset's cap


@dataclass
class SourceBudget:
    """A provider's dataset across contracts: its cap (once its provider sets one) and what contracts draw.

    Each contract's filter keeps its spend on the dataset (epsilon_i, delta_i)-DP; contracts are admitted one
    after another, each after seeing what earlier ones released, and run side by side. Basic composition
    bounds the whole by the sums, adaptively (Rogers, Roth, Ullman and Vadhan 2016, the basic composition
    filter) and concurrently (Lyu 2022), so a draw is admitted while both sums stay within the cap. A draw is
    never returned: what a closed contract did not spend is not known to be unspent to a filter."""

    epsilon: float | None = None
    delta: float | None = None
    draws: dict[tuple[str, str], Draw] = field(default_factory=dict)  # (contract, label) -> what it draws
    uncapped: list[str] = field(default_factory=list)  # contracts signed that use it with no privacy cap

    @property
    def capped(self) -> bool:
        return self.epsilon is not None and self.delta is not None

    def drawn(self, extra: Iterable[Draw] = ()) -> Draw:
        pairs = [*self.draws.values(), *extra]
        return math.fsum(e for e, _ in pairs), math.fsum(d for _, d in pairs)

    def fits(self, extra: Iterable[Draw] = ()) -> bool:
        if not self.capped:
            return True
        eps, delta = self.drawn(extra)
        return eps <= self.epsilon and delta <= self.delta  # type: ignore[operator]


def delta_limit(records: int) -> float:
    """The largest delta a dataset of `records` records admits: at delta near 1/n a mechanism may publish a
    record outright and still be (epsilon, delta)-DP, so delta stays at a tenth of that."""
    return 1 / (10 * records)
