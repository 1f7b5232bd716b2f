"""The auditor sums what the signed contracts draw from each provider-capped dataset, as the ledger should have."""

from __future__ import annotations

import pytest

from auditor.checks import source_findings
from auditor.replay import replay
from chain import entry
from chain.policy import Registry
from tests.chain.test_source_caps import cap, contract_on
from tests.clean_room import provider_dataset
from tests.conftest import Collab


def findings(collab: Collab):  # type: ignore[no-untyped-def]
    world = replay((entry.decode(leaf) for leaf in collab.ledger.store.iter_leaves()), collab.operator.did)
    return source_findings(world)


def test_draws_within_the_cap_pass(collab: Collab) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=5.0)
    contract_on(collab, source, 3.0)
    contract_on(collab, source, 2.0)
    [finding] = findings(collab)
    assert (finding.scope, finding.status) == ("dataset bank.csv", "pass")
    assert finding.reason == "2 contracts draw epsilon 5, delta 2e-05, within the cap epsilon 5, delta 0.0001"


def test_a_ledger_that_let_contracts_draw_past_the_cap_is_caught(
    collab: Collab, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=5.0)
    monkeypatch.setattr(Registry, "_check_draws", lambda *args: None)
    for _ in range(3):
        contract_on(collab, source, 3.0)
    [finding] = findings(collab)
    assert finding.status == "fail"
    assert finding.reason == "3 contracts draw epsilon 9, delta 3e-05, over the cap epsilon 5, delta 0.0001"
