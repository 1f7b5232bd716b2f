"""The ledger's rules for runs: budget reserve/commit/abort, key release, run start and completion, outputs."""

from __future__ import annotations

import pytest

from ccr_agent.simulated import SimulatedTee
from schemas import statement as s
from schemas.errors import BudgetExceeded, Conflict, NotAllowed, SchemaViolation, Unprocessable
from tests.clean_room import Room, room
from tests.conftest import Collab


@pytest.fixture
def r(collab: Collab, simulator: SimulatedTee) -> Room:
    return room(collab, simulator)


def budget_of(r: Room):
    return r.collab.ledger.registry.budgets[(r.cid, r.dataset)]


# --- budget ---------------------------------------------------------------------------


def test_a_reservation_within_the_cap_is_admitted(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1")
    # sigma 1, q 0.01, 1000 steps: 2.1014 at its best order alone, 3.4510 at the filter's order 4 for a cap of 7.5
    assert budget_of(r).composed_epsilon() == pytest.approx(3.4510, abs=1e-4)


def test_a_reservation_past_the_cap_is_409_with_the_remaining_budget(r: Room) -> None:
    for run in ("a", "b", "c"):
        r.attest(run)
    r.reserve("a", steps=12000)  # epsilon 7.44 of the 7.5 cap
    with pytest.raises(BudgetExceeded) as refused:
        r.reserve("b", steps=1000)
    assert refused.value.status == 409
    assert refused.value.extra["remaining_epsilon"] == pytest.approx(budget_of(r).remaining())
    assert refused.value.extra["cap"] == 7.5
    r.reserve("c", sigma=20.0, steps=100)  # a small one still fits


def test_the_budget_belongs_to_the_dataset_not_the_run(r: Room) -> None:
    for run in ("a", "b", "c"):
        r.attest(run)
        r.reserve(run)
    assert budget_of(r).composed_epsilon() == pytest.approx(4.1773, abs=1e-3)  # three runs, composed at order 4


def test_only_the_runs_agent_reserves(r: Room) -> None:
    r.attest("run-1")
    body = {
        "run_id": "run-1",
        "contract_id": r.cid,
        "dataset": r.dataset,
        "delta": 1e-5,
        "segments": [{"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 10}],
    }
    with pytest.raises(NotAllowed, match="attested agent key"):
        r.collab.send(r.collab.ccrp.key, "budget.reserve", body)


def test_a_run_reserves_once_per_dataset(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1")
    with pytest.raises(Conflict, match="already reserved"):
        r.reserve("run-1", steps=500)  # the same statement again would be a replay, answered with its receipt


def test_a_delta_other_than_the_contracts_is_refused(r: Room) -> None:
    r.attest("run-1")
    body = {
        "contract_id": r.cid,
        "dataset": r.dataset,
        "delta": 1e-3,
        "segments": [{"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 10}],
    }
    with pytest.raises(Unprocessable, match="delta"):
        r.agent("run-1", "budget.reserve", body)


def test_a_dataset_the_contract_does_not_name_has_no_budget(r: Room) -> None:
    r.attest("run-1")
    body = {
        "contract_id": r.cid,
        "dataset": "elsewhere",
        "delta": 1e-5,
        "segments": [{"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 10}],
    }
    with pytest.raises(Unprocessable, match="no dataset elsewhere"):
        r.agent("run-1", "budget.reserve", body)


def test_commit_records_what_was_executed_and_frees_the_rest(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1", steps=2000)
    r.reserve("run-1", steps=1000, kind="commit")
    assert budget_of(r).reserved == {}
    assert budget_of(r).committed_epsilon() == pytest.approx(3.4510, abs=1e-4)


def test_commit_may_not_exceed_the_reservation(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1", steps=1000)
    with pytest.raises(Conflict, match="more than run run-1 reserved"):
        r.reserve("run-1", steps=1001, kind="commit")


def test_commit_needs_a_reservation(r: Room) -> None:
    r.attest("run-1")
    with pytest.raises(Conflict, match="no budget reserved"):
        r.reserve("run-1", kind="commit")


def test_abort_frees_a_reservation_that_released_nothing(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1")
    r.agent("run-1", "budget.abort", {"contract_id": r.cid, "dataset": r.dataset})
    assert budget_of(r).composed_epsilon() == 0.0


def test_abort_after_the_key_was_released_is_refused(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1")
    r.release("run-1")
    with pytest.raises(Conflict, match="commit what it spent"):
        r.agent("run-1", "budget.abort", {"contract_id": r.cid, "dataset": r.dataset})


# --- key.release ----------------------------------------------------------------------


def test_the_provider_releases_its_key_to_a_run_with_budget_reserved(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1")
    r.release("run-1")
    assert "ds-0" in r.collab.ledger.registry.runs["run-1"].releases


def test_no_key_is_released_without_a_reservation(r: Room) -> None:
    r.attest("run-1")
    with pytest.raises(Conflict, match="reserved no budget"):
        r.release("run-1")


def test_only_the_datasets_provider_releases_its_key(r: Room) -> None:
    keys = r.attest("run-1")
    r.reserve("run-1")
    body = {"run_id": "run-1", "contract_id": r.cid, "dataset": r.dataset, "recipient": keys.recipient}
    with pytest.raises(NotAllowed, match="provider"):
        r.collab.send(r.collab.tdc.key, "key.release", body)


def test_a_key_goes_only_to_the_attested_x25519_key(r: Room) -> None:
    r.attest("run-1")
    r.reserve("run-1")
    body = {"run_id": "run-1", "contract_id": r.cid, "dataset": r.dataset, "recipient": r.collab.tdc.x25519}
    with pytest.raises(Unprocessable, match="bound in the run's attestation"):
        r.collab.send(r.collab.tdp.key, "key.release", body)


def test_a_key_is_released_once_per_run(r: Room) -> None:
    keys = r.attest("run-1")
    r.reserve("run-1")
    r.release("run-1")
    body = {"run_id": "run-1", "contract_id": r.cid, "dataset": r.dataset, "recipient": keys.recipient}
    again = s.sign(r.collab.tdp.key, "key.release", body, iat="2030-01-01T00:00:00Z")  # not a replay
    with pytest.raises(Conflict, match="already released"):
        r.collab.ledger.append(s.from_raw(again))


# --- runs and outputs -----------------------------------------------------------------


def test_a_run_starts_on_the_contracts_registered_datasets(r: Room) -> None:
    r.attest("run-1")
    r.start("run-1")
    assert r.collab.ledger.registry.runs["run-1"].inputs == (r.digest,)


def test_a_run_may_not_read_an_artefact_outside_its_contract(r: Room) -> None:
    r.attest("run-1")
    stray = "sha256:" + "9" * 64
    r.collab.send(r.collab.tdp.key, "artefact.register", {"digest": stray, "name": "other.csv", "kind": "dataset"})
    attestation = r.collab.ledger.registry.runs["run-1"].attestation
    body = {
        "contract_id": r.cid,
        "attestation": attestation,
        "inputs": [stray],
        "pipeline_digest": "sha256:" + "1" * 64,
    }
    with pytest.raises(Unprocessable, match="not a dataset registered under contract"):
        r.agent("run-1", "run.start", body)


def test_a_run_starts_once(r: Room) -> None:
    r.attest("run-1")
    r.start("run-1")
    with pytest.raises(Conflict, match="already started"):
        r.start("run-1", pipeline="2")


def test_outputs_derive_from_the_runs_inputs_and_complete_it(r: Room) -> None:
    r.attest("run-1")
    r.start("run-1")
    model = r.output("run-1")
    r.agent("run-1", "run.complete", {"status": "succeeded", "outputs": [model]})
    run = r.collab.ledger.registry.runs["run-1"]
    assert (run.status, run.outputs) == ("succeeded", (model,))
    assert r.collab.ledger.registry.artefacts[model].derived_from == (r.digest,)


def test_an_output_is_registered_only_by_the_runs_agent(r: Room) -> None:
    r.attest("run-1")
    r.start("run-1")
    body = {
        "digest": "sha256:" + "8" * 64,
        "name": "m",
        "kind": "model",
        "derived_from": [r.digest],
        "produced_by": "run-1",
        "contract_id": r.cid,
    }
    with pytest.raises(NotAllowed):
        r.collab.send(r.collab.tdc.key, "artefact.register", body)


def test_an_output_without_lineage_to_the_inputs_is_refused(r: Room) -> None:
    r.attest("run-1")
    r.start("run-1")
    body = {
        "digest": "sha256:" + "8" * 64,
        "name": "m",
        "kind": "model",
        "derived_from": [],
        "produced_by": "run-1",
        "contract_id": r.cid,
    }
    with pytest.raises(Unprocessable, match="derives from the inputs"):
        r.collab.send(r.agents["run-1"].signer, "artefact.register", body)


def test_a_completed_run_takes_no_more_statements(r: Room) -> None:
    r.attest("run-1")
    r.agent("run-1", "run.complete", {"status": "failed", "reason": "unprocessable"})
    with pytest.raises(Conflict, match="already complete"):
        r.reserve("run-1")


def test_a_run_that_never_started_cannot_succeed(r: Room) -> None:
    r.attest("run-1")
    with pytest.raises(Conflict, match="never started"):
        r.agent("run-1", "run.complete", {"status": "succeeded", "outputs": []})


def test_a_reservation_only_another_rdp_order_would_fit_is_refused(r: Room) -> None:
    """4.83 at its own best order, 9.12 at the filter's order 4: the ledger admits by the filter alone."""
    r.attest("run-1")
    with pytest.raises(BudgetExceeded, match="over the cap"):
        r.reserve("run-1", sigma=0.6, q=0.01, steps=100)


@pytest.mark.parametrize(
    "leak",
    [
        {"status": "succeeded", "outputs": [], "metrics": {"accuracy": 0.84, "test_records": 4000}},
        {"status": "failed", "reason": "Input contains NaN at row 1,234"},
    ],
)
def test_nothing_computed_on_private_data_is_logged_in_plaintext(r: Room, leak: dict) -> None:
    """Metrics leave encrypted to the recipients; a failure is a code. Either in plaintext is refused."""
    r.attest("run-1")
    with pytest.raises(SchemaViolation):
        r.agent("run-1", "run.complete", leak)
