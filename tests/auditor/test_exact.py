"""The auditor's second accountant: the closed form at integer orders, held against dp-accounting's RDP."""

from __future__ import annotations

import numpy as np
import pytest

from auditor import checks, exact
from auditor.checks import accountant_findings
from privacy import budget
from schemas.statement import Segment


@pytest.mark.parametrize(("sigma", "order"), [(1.0, 2), (0.7, 5), (3.0, 64)])
def test_without_subsampling_it_is_the_gaussian_mechanisms_rdp(sigma: float, order: int) -> None:
    """q = 1 is the Gaussian mechanism, whose RDP is alpha / (2 sigma^2) (Mironov 2017, Proposition 7)."""
    assert exact.rdp_at(1.0, sigma, order) == pytest.approx(order / (2 * sigma**2), rel=1e-12)


@pytest.mark.parametrize(("q", "sigma"), [(0.01, 1.0), (0.04, 0.8252), (0.5, 0.6), (1e-9, 0.5), (0.3, 3e3)])
def test_dp_accounting_agrees_with_the_closed_form_at_every_integer_order(q: float, sigma: float) -> None:
    assert exact.disagreements(q, sigma, budget.ORDERS, budget.step_curve(q, sigma)) == []


def test_a_library_curve_that_strays_is_named_with_its_order() -> None:
    strayed = np.array(budget.step_curve(0.01, 1.0))
    strayed[budget.ORDERS.index(8)] *= 1.001
    found = exact.disagreements(0.01, 1.0, budget.ORDERS, strayed)
    assert len(found) == 1 and found[0].startswith("order 8:")


def test_the_audit_flags_an_accountant_that_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    segments = [Segment(noise_multiplier=1.0, sample_rate=0.01, steps=1000)]
    honest = {f.check: f.status for f in accountant_findings("budget x", segments, best=2.1, pld=1.8)}
    assert honest == {"accountants": "pass", "rdp-bounds-pld": "pass"}
    monkeypatch.setattr(checks, "step_curve", lambda q, sigma: budget.step_curve(q, sigma) * 0.5)
    lied = {f.check: f for f in accountant_findings("budget x", segments, best=1.5, pld=1.8)}
    assert lied["accountants"].status == "fail" and "closed form" in lied["accountants"].reason
    assert lied["rdp-bounds-pld"].status == "fail"
