"""The budget belongs to the data: a provider caps its dataset once, across every contract that names it as a
source; contracts draw their caps from it when the provider signs them, and no run reads it outside one."""

from __future__ import annotations

import hashlib

import pytest

from ccr_agent.simulated import SimulatedTee
from schemas.errors import BudgetExceeded, Conflict, NotAllowed, NotFound, Unprocessable
from tests.clean_room import provider_dataset, room, room_on_a_copy, sourced
from tests.conftest import Collab


def cap(collab: Collab, source: str, epsilon: float = 5.0, delta: float = 1e-4) -> None:
    collab.send(collab.tdp.key, "dataset.cap", {"dataset": source, "epsilon": epsilon, "delta": delta})


def privacy(*caps: tuple[str, float]) -> list[dict]:
    return [{"privacy": [{"dataset": label, "epsilon_threshold": eps, "delta": 1e-5} for label, eps in caps]}]


def contract_on(collab: Collab, source: str, epsilon: float, *, sign: bool = True) -> str:
    cid = collab.propose(datasets=[sourced(collab, source)], constraints=privacy(("ds-0", epsilon)))
    if sign:
        collab.sign_all(cid)
    return cid


def test_contracts_draw_their_caps_from_the_dataset_until_it_is_spent(collab: Collab) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=5.0)
    contract_on(collab, source, 3.0)
    contract_on(collab, source, 2.0)
    with pytest.raises(BudgetExceeded, match="already draw 5"):
        contract_on(collab, source, 0.5)
    view = collab.ledger.artefact(source)
    assert view.cap is not None
    assert (view.cap.epsilon, view.cap.drawn_epsilon, view.cap.drawn_delta) == (5.0, 5.0, 2e-5)


def test_the_draw_is_taken_when_the_provider_signs(collab: Collab) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=5.0)
    first = contract_on(collab, source, 4.0, sign=False)
    second = contract_on(collab, source, 4.0, sign=False)  # proposals alone draw nothing
    collab.send(collab.tdp.key, "contract.sign", {"contract_id": first})
    with pytest.raises(BudgetExceeded, match="would draw epsilon 4"):
        collab.send(collab.tdp.key, "contract.sign", {"contract_id": second})
    collab.send(collab.tdc.key, "contract.sign", {"contract_id": second})  # the consumer's signature draws nothing


def test_two_labels_on_the_same_records_each_draw(collab: Collab) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=5.0)
    with pytest.raises(BudgetExceeded):
        collab.propose(
            datasets=[sourced(collab, source, "ds-0"), sourced(collab, source, "ds-1")],
            constraints=privacy(("ds-0", 3.0), ("ds-1", 3.0)),
        )


def test_delta_draws_too(collab: Collab) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=100.0, delta=2e-5)
    contract_on(collab, source, 1.0)
    contract_on(collab, source, 1.0)
    with pytest.raises(BudgetExceeded, match="delta 1e-05"):
        contract_on(collab, source, 1.0)


def test_a_cap_is_set_once_by_the_provider_on_its_own_dataset(collab: Collab) -> None:
    source = provider_dataset(collab)
    with pytest.raises(NotAllowed, match="the party that registered it"):
        collab.send(collab.tdc.key, "dataset.cap", {"dataset": source, "epsilon": 50, "delta": 1e-3})
    cap(collab, source, epsilon=5.0)
    with pytest.raises(Conflict, match="a cap is set once"):
        cap(collab, source, epsilon=50.0)
    with pytest.raises(NotFound):
        cap(collab, "sha256:" + "0" * 64)


def test_only_a_providers_dataset_carries_a_cap(collab: Collab) -> None:
    digest = "sha256:" + hashlib.sha256(b"model").hexdigest()
    collab.send(collab.tdp.key, "artefact.register", {"digest": digest, "name": "m", "kind": "model"})
    with pytest.raises(Unprocessable, match="only a dataset carries a cap"):
        cap(collab, digest)


def test_a_cap_below_what_signed_contracts_draw_is_refused(collab: Collab) -> None:
    source = provider_dataset(collab)
    contract_on(collab, source, 3.0)
    with pytest.raises(BudgetExceeded, match="already draw epsilon 3"):
        cap(collab, source, epsilon=2.0)
    cap(collab, source, epsilon=3.0)


def test_a_capped_dataset_is_named_only_with_a_privacy_cap(collab: Collab) -> None:
    source = provider_dataset(collab)
    cap(collab, source)
    with pytest.raises(Unprocessable, match="caps its privacy too"):
        collab.propose(datasets=[sourced(collab, source)], constraints=[])


def test_a_dataset_used_without_a_cap_cannot_be_capped_later(collab: Collab) -> None:
    source = provider_dataset(collab)
    cid = collab.propose(datasets=[sourced(collab, source)], constraints=[])
    collab.sign_all(cid)
    with pytest.raises(Unprocessable, match="with no privacy cap"):
        cap(collab, source)


def test_a_source_is_the_providers_registered_dataset(collab: Collab) -> None:
    with pytest.raises(Unprocessable, match="not a registered provider dataset"):
        contract_on(collab, "sha256:" + "1" * 64, 1.0)
    theirs = "sha256:" + hashlib.sha256(b"consumer's").hexdigest()
    collab.send(collab.tdc.key, "artefact.register", {"digest": theirs, "name": "c.csv", "kind": "dataset"})
    with pytest.raises(Unprocessable, match="another party than its provider"):
        contract_on(collab, theirs, 1.0)


def test_delta_stays_within_a_tenth_of_one_over_the_record_count(collab: Collab) -> None:
    source = provider_dataset(collab, records=16_000)  # 1/(10 n) = 6.25e-6 < 1e-5
    with pytest.raises(Unprocessable, match=r"over 1/\(10 n\) = 6.25e-06 for the 16000 records"):
        contract_on(collab, source, 1.0)
    large = [{"privacy": [{"dataset": "ds-0", "epsilon_threshold": 1, "delta": 1e-5, "allow_large_delta": True}]}]
    collab.propose(datasets=[sourced(collab, source)], constraints=large)
    with pytest.raises(Unprocessable, match="for the 16000 records"):
        cap(collab, source, delta=1e-4)


def test_runs_read_a_source_under_each_contract_that_names_it(collab: Collab, simulator: SimulatedTee) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=15.0)
    for run_id in ("run-a", "run-b"):  # two contracts of epsilon 7.5 each, on the same registered records
        r = room(collab, simulator, source=source)
        r.attest(run_id)
        r.reserve(run_id)
        r.release(run_id)
        r.start(run_id)


def test_records_of_a_capped_dataset_are_read_only_under_a_contract_naming_it(
    collab: Collab, simulator: SimulatedTee
) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=10.0)
    r = room_on_a_copy(collab, simulator, source)
    r.attest("run-1")
    r.reserve("run-1")
    with pytest.raises(Unprocessable, match="holds records of bank.csv, which its provider caps"):
        r.start("run-1")


def test_a_run_reads_a_capped_source_only_with_budget_reserved_on_it(collab: Collab, simulator: SimulatedTee) -> None:
    source = provider_dataset(collab)
    cap(collab, source, epsilon=10.0)
    r = room(collab, simulator, source=source)
    r.attest("run-1")
    with pytest.raises(Conflict, match="no budget reserved on ds-0"):
        r.start("run-1")
