"""The explorer's index: filters, newest-first paging, and following the store; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chain.ledger.ledger import Ledger
from chain.ledger.sqlstore import SqlStore
from schemas import statement as s
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient
from webconsole.entries import EntryIndex, Filters, page


@pytest.fixture
def logged(database_url: str):
    """A ledger of 30 party registrations (operator-signed), then 10 revocations; its store and operator."""
    operator = Signer.generate()
    store = SqlStore(database_url)
    ledger = Ledger(store, ORIGIN, Signer.generate(), operator.did)
    parties = [Signer.generate() for _ in range(30)]
    for i, p in enumerate(parties):
        body = {"did": p.did, "name": f"p{i}", "roles": ["TDP"], "x25519": age_recipient()}
        ledger.append(s.from_raw(s.sign(operator, "party.register", body)))
    for p in parties[:10]:
        ledger.append(s.from_raw(s.sign(operator, "party.revoke", {"did": p.did, "reason": "left"})))
    yield ledger, store, operator
    store.close()


def test_no_filter_pages_newest_first(logged):
    _, store, _ = logged
    index = EntryIndex(store)
    first = page(store, index, Filters(), None, 15)
    assert [r.seq for r in first.rows] == list(range(39, 24, -1)) and first.next_before == 25
    second = page(store, index, Filters(), first.next_before, 15)
    assert [r.seq for r in second.rows] == list(range(24, 9, -1))
    last = page(store, index, Filters(), 10, 15)
    assert [r.seq for r in last.rows] == list(range(9, -1, -1)) and last.next_before is None


def test_type_filter_pages_its_posting_list(logged):
    _, store, _ = logged
    index = EntryIndex(store, chunk=7)
    revokes, more = index.query(Filters(kind="party.revoke"), None, 4)
    assert revokes == [39, 38, 37, 36] and more == 36
    assert index.query(Filters(kind="party.revoke"), more, 100) == ([35, 34, 33, 32, 31, 30], None)


def test_filters_combine(logged):
    _, store, operator = logged
    index = EntryIndex(store)
    seqs, _ = index.query(Filters(kind="party.register", signers=[operator.did]), 5, 100)
    assert seqs == [4, 3, 2, 1, 0]
    assert index.query(Filters(kind="party.register", signers=["did:key:nobody"]), None, 10) == ([], None)


def test_time_filter_keeps_entries_logged_in_the_window(logged):
    _, store, _ = logged
    index = EntryIndex(store)
    now = datetime.now(UTC)
    assert len(index.query(Filters(since=now - timedelta(hours=1)), None, 100)[0]) == 40
    assert index.query(Filters(until=now - timedelta(hours=1)), None, 100) == ([], None)


def test_a_value_the_log_never_held_matches_nothing(logged):
    _, store, _ = logged
    assert EntryIndex(store).query(Filters(run="no-such-run"), None, 10) == ([], None)


def test_the_index_follows_what_is_appended(logged):
    ledger, store, operator = logged
    index = EntryIndex(store)
    assert index.follow() == 40
    p = Signer.generate()
    body = {"did": p.did, "name": "late", "roles": ["TDC"], "x25519": age_recipient()}
    ledger.append(s.from_raw(s.sign(operator, "party.register", body)))
    assert index.query(Filters(kind="party.register"), None, 1) == ([40], 40)
    assert index.size == 41


def test_rows_say_what_each_entry_is(logged):
    _, store, operator = logged
    rows = page(store, EntryIndex(store), Filters(), 31, 2).rows
    assert [(r.kind, r.signer, r.summary) for r in rows] == [
        ("party.revoke", operator.did, "left"),
        ("party.register", operator.did, "p29 as TDP"),
    ]


def test_a_clock_that_went_back_still_filters_by_time_exactly(tmp_path):
    """Entries logged out of time order (the operator's clock stepped back) are found by scanning, not bisecting."""
    operator = Signer.generate()
    times = iter([datetime(2026, 1, 1, 12, m, tzinfo=UTC) for m in (0, 10, 5, 20)])
    store = SqlStore(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger = Ledger(store, ORIGIN, Signer.generate(), operator.did, clock=lambda: next(times))
    for i in range(4):
        p = Signer.generate()
        body = {"did": p.did, "name": f"p{i}", "roles": ["TDP"], "x25519": age_recipient()}
        ledger.append(s.from_raw(s.sign(operator, "party.register", body)))
    index = EntryIndex(store)
    window = Filters(since=datetime(2026, 1, 1, 12, 4, tzinfo=UTC), until=datetime(2026, 1, 1, 12, 15, tzinfo=UTC))
    assert index.query(window, None, 10) == ([2, 1], None)
    assert index.query(Filters(until=datetime(2026, 1, 1, 12, 6, tzinfo=UTC)), None, 10) == ([2, 0], None)
    store.close()


def test_time_windows_on_an_ordered_log(logged):
    _, store, _ = logged
    index = EntryIndex(store)
    index.follow()
    cut = datetime.fromisoformat(page(store, index, Filters(), 20, 1).rows[0].logged_at)
    newer = index.query(Filters(since=cut), None, 100)[0]
    older = index.query(Filters(until=cut), None, 100)[0]
    assert sorted(newer + older) == list(range(40)) and min(newer) > max(older)
