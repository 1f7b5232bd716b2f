"""The client verifies every receipt and detects forks between checkpoints it sees."""

import pytest
from fastapi.testclient import TestClient

from chain.client import LedgerClient
from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from chain.ledger.store import MemoryStore
from schemas import statement as s
from schemas.errors import Conflict, ForkError
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient


def party(operator, name=None):
    did = Signer.generate().did
    return s.sign(
        operator,
        "party.register",
        {"did": did, "name": name or f"party-{did[-8:]}", "roles": ["TDP"], "x25519": age_recipient()},
    )


@pytest.fixture
def served(operator, checkpoint_key):
    """Serve ledgers in-process; each call gives a client for a fresh ledger with the same key."""
    opened = []

    def serve(state_file=None):
        ledger = Ledger(MemoryStore(), ORIGIN, checkpoint_key, operator.did)
        tc = TestClient(create_app(ledger))
        tc.__enter__()
        opened.append(tc)
        return LedgerClient("http://testserver", ledger.vkey, transport=tc._transport, state_file=state_file,
                            reader=operator)  # fmt: skip

    yield serve
    for tc in opened:
        tc.__exit__(None, None, None)


def test_append_returns_a_verified_receipt(served, operator):
    client = served()
    receipt = client.append(party(operator))
    assert receipt.seq == 0 and client.checkpoint().size == 1


def test_refusals_arrive_as_typed_errors(served, operator):
    client = served()
    raw = party(operator)
    client.append(raw)
    with pytest.raises(Conflict):
        client.append(s.sign(operator, "party.register", {**raw["body"], "name": "again"}))


def test_a_diverging_ledger_with_the_same_key_is_a_fork(served, operator, tmp_path):
    state = tmp_path / "state.json"
    honest = served(state)
    for i in range(3):
        honest.append(party(operator, f"a{i}"))
    seen = honest.last
    other = served()
    for i in range(4):
        other.append(party(operator, f"b{i}"))
    forked = LedgerClient("http://testserver", other.vkey, transport=other._http._transport, state_file=state)
    with pytest.raises(ForkError) as err:
        forked.checkpoint()
    assert err.value.old == seen and err.value.new != seen


def test_the_remembered_checkpoint_survives_in_the_state_file(served, operator, tmp_path):
    state = tmp_path / "state.json"
    client = served(state)
    client.append(party(operator))
    again = LedgerClient("http://testserver", client.vkey, transport=client._http._transport, state_file=state)
    assert again.last == client.last
