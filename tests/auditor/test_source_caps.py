"""The auditor sums what the signed contracts draw from each provider-capped dataset, as the ledger should have."""

from __future__ import annotations

import pytest

from auditor.checks import delta_findings, run_findings, source_findings
from ccr_agent.simulated import SimulatedTee
from chain.ledger.rules import contracts, runs
from tests.auditor.conftest import replayed
from tests.chain.ledger.test_source_caps import cap, contract_on
from tests.clean_room import provider_dataset, room, room_on_a_copy
from tests.conftest import Collab


def findings(collab: Collab):  # type: ignore[no-untyped-def]
    world = replayed(collab)
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
    monkeypatch.setattr(contracts, "_check_draws", lambda *args: None)
    for _ in range(3):
        contract_on(collab, source, 3.0)
    [finding] = findings(collab)
    assert finding.status == "fail"
    assert finding.reason == "3 contracts draw epsilon 9, delta 3e-05, over the cap epsilon 5, delta 0.0001"


def test_a_delta_over_a_tenth_of_one_over_the_record_count_fails_the_audit(
    collab: Collab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(contracts, "_check_source", lambda *args: None)
    source = provider_dataset(collab, records=16_000)
    contract_on(collab, source, 1.0)  # delta 1e-5 > 6.25e-6
    world = replayed(collab)
    [finding] = delta_findings(world)
    assert finding.reason == "delta 1e-05 is over 1/(10 n) = 6.25e-06 for the 16000 records declared"


def capped_reads(collab: Collab) -> list[tuple[str, str]]:
    world = replayed(collab)
    return [(f.status, f.reason) for run_id, run in world.runs.items() for f in run_findings(world, run_id, run)
            if f.check == "capped-data"]  # fmt: skip


def test_a_run_reading_capped_data_under_the_contract_naming_it_passes(collab: Collab, simulator: SimulatedTee) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=10.0)
    r = room(collab, simulator, source=source)
    r.attest("run-1")
    r.reserve("run-1")
    r.start("run-1")
    assert [status for status, _ in capped_reads(collab)] == ["pass"]


def test_a_run_reading_capped_records_outside_a_contract_naming_them_fails_the_audit(
    collab: Collab, simulator: SimulatedTee, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "_check_capped_origins", lambda *args: None)
    source = provider_dataset(collab)
    cap(collab, source, epsilon=10.0)
    r = room_on_a_copy(collab, simulator, source)
    r.attest("run-1")
    r.reserve("run-1")
    r.start("run-1")
    assert capped_reads(collab) == [
        ("fail", "reads provider-capped data outside a contract naming it, or without budget: bank.csv")
    ]
