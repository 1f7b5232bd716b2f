"""A second RDP accountant, written apart from dp-accounting: the exact closed form at integer orders.

For the Poisson-subsampled Gaussian mechanism with rate q and noise multiplier sigma, at an integer order
alpha >= 2 (Mironov, Talwar and Zhang 2019, section 3.3):

    A_alpha = sum_{k=0..alpha} C(alpha, k) (1 - q)^(alpha - k) q^k exp((k^2 - k) / (2 sigma^2))
    RDP(alpha) = log(A_alpha) / (alpha - 1)

evaluated with mpmath at 50 significant digits, so no term overflows or cancels. The audit holds dp-accounting's
curve, which the ledger admits budget with, against this one at every integer order of the grid.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath

TOLERANCE = 1e-6  # relative, with an absolute floor of 1e-9 for orders where the RDP is near zero


@lru_cache(maxsize=65536)
def rdp_at(sample_rate: float, noise_multiplier: float, order: int) -> float:
    """RDP of one step at an integer order >= 2."""
    if order < 2:
        raise ValueError("the closed form holds at integer orders of 2 and above")
    with mpmath.workdps(50):
        q, sigma = mpmath.mpf(sample_rate), mpmath.mpf(noise_multiplier)
        total = mpmath.fsum(
            mpmath.binomial(order, k) * (1 - q) ** (order - k) * q**k * mpmath.exp((k * k - k) / (2 * sigma**2))
            for k in range(order + 1)
        )
        return float(mpmath.log(total) / (order - 1))


def disagreements(sample_rate: float, noise_multiplier: float, orders, library) -> list[str]:
    """Each integer order where the library's one-step RDP and the closed form differ past the tolerance."""
    found = []
    for order, theirs in zip(orders, library, strict=True):
        if order != int(order) or order < 2:
            continue
        ours = rdp_at(sample_rate, noise_multiplier, int(order))
        if abs(ours - theirs) > max(TOLERANCE * abs(ours), 1e-9):
            found.append(f"order {order:g}: dp-accounting {theirs:.9g}, closed form {ours:.9g}")
    return found
