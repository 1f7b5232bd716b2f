"""A follower sees every committed entry once, in order, from the store; one that fails on an entry stops
before it and takes it again on the next follow."""

from __future__ import annotations

import pytest

from chain.ledger.follower import Follower
from chain.ledger.ledger import Ledger
from chain.ledger.store import Store
from schemas import statement as s
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient


class Seen(Follower):
    def __init__(self, store: Store, chunk: int, fail_at: int | None = None) -> None:
        super().__init__(store, chunk)
        self.seqs: list[int] = []
        self.fail_at = fail_at

    def add(self, seq: int, leaf: bytes) -> None:
        if seq == self.fail_at:
            self.fail_at = None
            raise OSError("the view's disk is full")
        assert leaf.startswith(b"{")
        self.seqs.append(seq)


def register(ledger: Ledger, operator: Signer, n: int) -> None:
    for _ in range(n):
        did = Signer.generate().did
        body = {"did": did, "name": did[-12:], "roles": ["TDP"], "x25519": age_recipient()}
        ledger.append(s.from_raw(s.sign(operator, "party.register", body)))


def test_a_follower_takes_each_committed_entry_once_in_order(store: Store) -> None:
    operator = Signer.generate()
    ledger = Ledger(store, ORIGIN, Signer.generate(), operator.did)
    seen = Seen(store, chunk=3)
    register(ledger, operator, 7)
    assert seen.follow() == 7 and seen.seqs == list(range(7))
    register(ledger, operator, 2)
    assert seen.follow() == 9 and seen.seqs == list(range(9))
    assert seen.follow() == 9 and seen.processed == 9


def test_a_follower_that_fails_stops_before_the_entry_and_takes_it_next_time(store: Store) -> None:
    operator = Signer.generate()
    ledger = Ledger(store, ORIGIN, Signer.generate(), operator.did)
    register(ledger, operator, 5)
    seen = Seen(store, chunk=2, fail_at=3)
    with pytest.raises(OSError):
        seen.follow()
    assert seen.processed == 3 and seen.seqs == [0, 1, 2]
    assert seen.follow() == 5 and seen.seqs == list(range(5))
