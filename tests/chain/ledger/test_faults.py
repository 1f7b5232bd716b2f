"""No statement can stop the ledger: a check, a state change or a store call that fails in a way nobody
foresaw refuses that statement alone, the next one is admitted, and the state is always the log's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ccr_agent.simulated import SimulatedTee
from chain.ledger.ledger import Ledger
from chain.ledger.rules import RULES, artefacts
from chain.ledger.store import MemoryStore
from schemas.errors import Unavailable, Unprocessable
from schemas.keys import Signer
from schemas.statement import BODIES
from tests.clean_room import provider_dataset, room
from tests.conftest import ORIGIN, Collab, collab_on, register

# Each statement type's rule and state change (the table's), and the rule for a run's outputs that one calls.
CASES = [f"{kind} {step}" for kind in RULES for step in ("admit", "apply")] + ["artefact.register output"]


def history(collab: Collab, simulator: SimulatedTee) -> tuple[str, list[str]]:
    """Every statement type, in a contract's whole life: two runs (one completed, one aborted), then the end."""
    source = provider_dataset(collab)
    collab.send(collab.tdp.key, "dataset.cap", {"dataset": source, "epsilon": 10, "delta": 1e-4})
    r = room(collab, simulator, source=source)
    r.attest("run-1")
    r.reserve("run-1")
    r.release("run-1")
    r.start("run-1")
    model = r.output("run-1")
    r.reserve("run-1", kind="commit", steps=900)
    r.agent("run-1", "run.complete", {"status": "succeeded", "outputs": [model]})
    r.attest("run-2")
    r.reserve("run-2")
    r.agent("run-2", "budget.abort", {"contract_id": r.cid, "dataset": r.dataset})
    collab.send(collab.tdc.key, "party.rotate", {"did": collab.tdc.did, "new_did": Signer.generate().did})
    collab.send(collab.operator, "contract.revoke", {"contract_id": r.cid, "reason": "done"})
    collab.send(collab.operator, "party.revoke", {"did": collab.ccrp.did})
    return r.cid, ["run-1", "run-2"]


def state(ledger: Ledger, cid: str, runs: list[str]) -> list[Any]:
    """Everything the ledger serves from its registry."""
    views = [*ledger.parties(), ledger.contract(cid), ledger.budget(cid), *(ledger.run(run) for run in runs)]
    views += [ledger.artefact(d) for d in ledger.registry.artefacts]
    return [v.model_dump(mode="json") for v in views]


def with_retries(ledger: Ledger) -> list[str]:
    """Send each refused statement once more, as a client would; return the kinds that were refused."""
    refused: list[str] = []
    original = ledger.append

    def append(st):  # type: ignore[no-untyped-def]
        try:
            return original(st)
        except (Unprocessable, Unavailable) as exc:
            if isinstance(exc, Unprocessable) and "could not check" not in exc.detail:
                raise
            refused.append(st.kind)
            return original(st)

    ledger.append = append  # type: ignore[method-assign]
    return refused


def once(original: Callable[..., Any], *, after: bool) -> tuple[Callable[..., Any], list[bool]]:
    """`original` that raises an unforeseen error on its first call, before or after doing its work."""
    fired: list[bool] = []

    def faulty(*args: Any, **kwargs: Any) -> Any:
        if fired:
            return original(*args, **kwargs)
        fired.append(True)
        if after:
            original(*args, **kwargs)  # a state change half made, then the failure
        raise IndexError("injected")

    return faulty, fired


def test_every_statement_type_has_a_rule_and_a_state_change() -> None:
    assert set(RULES) == set(BODIES)


@pytest.mark.parametrize("case", CASES)
def test_a_rule_that_raises_refuses_its_statement_alone(
    case: str, operator: Signer, checkpoint_key: Signer, simulator: SimulatedTee, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind, step = case.split()
    if step == "output":
        faulty, fired = once(artefacts.admit_output, after=False)
        monkeypatch.setattr(artefacts, "admit_output", faulty)
    else:
        admit, apply = RULES[kind]
        faulty, fired = once(admit if step == "admit" else apply, after=step == "apply")
        monkeypatch.setitem(RULES, kind, (faulty, apply) if step == "admit" else (admit, faulty))
    ledger = Ledger(MemoryStore(), ORIGIN, checkpoint_key, operator.did)
    refused = with_retries(ledger)
    cid, runs = history(collab_on(ledger, operator), simulator)
    assert fired and len(refused) == 1
    monkeypatch.undo()
    assert state(ledger, cid, runs) == state(Ledger(ledger.store, ORIGIN, checkpoint_key, operator.did), cid, runs)


@pytest.mark.parametrize("call", ["seqs_of", "append", "append+iter_entries"])
def test_a_store_call_that_raises_loses_nothing_and_logs_nothing_twice(
    call: str, operator: Signer, checkpoint_key: Signer, simulator: SimulatedTee, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MemoryStore()
    ledger = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    collab = collab_on(ledger, operator)
    refused = with_retries(ledger)
    fired = []
    for name in call.split("+"):
        faulty, fired = once(getattr(store, name), after=False)
        monkeypatch.setattr(store, name, faulty)
    cid, runs = history(collab, simulator)
    assert fired and len(refused) == 1
    assert ledger.failure is None and ledger.not_ready() is None
    monkeypatch.undo()
    assert state(ledger, cid, runs) == state(Ledger(store, ORIGIN, checkpoint_key, operator.did), cid, runs)


def test_a_batch_whose_commit_fails_leaves_no_trace_in_the_registry(
    ledger: Ledger, operator: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(batch: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ledger.store, "append", refuse)
    with pytest.raises(Unavailable) as refused:
        register(ledger, operator, "bank", "TDP")
    assert "disk full" not in str(refused.value)
    assert ledger.parties() == [] and ledger.info().size == 0


def test_a_ledger_that_cannot_read_its_log_back_is_not_ready_until_it_can(
    ledger: Ledger, operator: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(ledger.store, "append", down)
    monkeypatch.setattr(ledger.store, "iter_entries", down)
    with pytest.raises(Unavailable):
        register(ledger, operator, "bank", "TDP")
    assert ledger.not_ready() == "the ledger cannot read its own log back"
    with pytest.raises(Unavailable):
        register(ledger, operator, "bureau", "TDP")
    monkeypatch.undo()
    register(ledger, operator, "bank", "TDP")
    assert ledger.not_ready() is None and [p.name for p in ledger.parties()] == ["bank"]
