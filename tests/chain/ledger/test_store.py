"""The SQL store on SQLite and PostgreSQL: durability, restart and its integrity check."""

import pytest
from sqlalchemy import text

from chain.ledger.ledger import Ledger
from chain.ledger.sqlstore import SqlStore
from chain.tlog import merkle
from schemas import statement as s
from schemas.encoding import unb64
from schemas.errors import LedgerCorrupt
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient


def _party(operator):
    return s.from_raw(
        s.sign(
            operator,
            "party.register",
            {"did": (did := Signer.generate().did), "name": did[-8:], "roles": ["TDP"], "x25519": age_recipient()},
        )
    )


def _fill(ledger, operator, n):
    return [ledger.append(_party(operator))[0] for _ in range(n)]


def test_a_receipt_from_the_database_verifies(store, operator, checkpoint_key):
    ledger = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    receipts = _fill(ledger, operator, 5)
    for r in receipts:
        r.verify(ledger.vkey)


def test_a_batch_is_one_checkpoint(store, operator, checkpoint_key):
    ledger = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    outcomes = ledger.integrate([_party(operator) for _ in range(20)])
    notes = {o.checkpoint for o, _ in outcomes}
    assert len(notes) == 1 and store.size() == 20


def test_restart_reloads_the_same_log(database_url, operator, checkpoint_key):
    first = SqlStore(database_url)
    ledger = Ledger(first, ORIGIN, checkpoint_key, operator.did)
    _fill(ledger, operator, 7)
    note = ledger.checkpoint()
    first.close()
    again = Ledger(SqlStore(database_url), ORIGIN, checkpoint_key, operator.did)
    assert again.checkpoint() == note and again.info().size == 7


def test_stored_proofs_match_the_tree(store, operator, checkpoint_key):
    ledger = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    _fill(ledger, operator, 13)
    root = merkle.root(13, store.read_nodes)
    for seq in range(13):
        p = ledger.inclusion(seq, 13)
        merkle.verify_inclusion(seq, 13, unb64(p.leaf_hash), [unb64(h) for h in p.proof], root)


def _tamper(database_url, sql):
    store = SqlStore(database_url)
    with store.engine.begin() as conn:
        conn.execute(text(sql))
    return store


@pytest.mark.parametrize(
    "attack",
    [
        "UPDATE log_entry SET leaf = CAST(replace(CAST(leaf AS TEXT), '\"TDP\"', '\"TDC\"') AS BLOB) WHERE seq = 2",
        "DELETE FROM log_entry WHERE seq = 4",
        "DELETE FROM log_checkpoint WHERE size = (SELECT max(size) FROM log_checkpoint)",
    ],
    ids=["changed-entry", "deleted-entry", "rolled-back-checkpoint"],
)
def test_the_ledger_refuses_to_start_on_a_tampered_log(database_url, operator, checkpoint_key, attack):
    store = SqlStore(database_url)
    ledger = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    for _ in range(5):
        ledger.append(_party(operator))
    store.close()
    if "replace" in attack and database_url.startswith("postgresql"):
        attack = "UPDATE log_entry SET leaf = overlay(leaf placing '\\x20'::bytea from 10 for 1) WHERE seq = 2"
    with pytest.raises(LedgerCorrupt):
        Ledger(_tamper(database_url, attack), ORIGIN, checkpoint_key, operator.did)


def test_the_ledger_refuses_a_checkpoint_signed_by_another_key(database_url, operator, checkpoint_key):
    store = SqlStore(database_url)
    Ledger(store, ORIGIN, checkpoint_key, operator.did).append(_party(operator))
    store.close()
    with pytest.raises(LedgerCorrupt, match="does not verify"):
        Ledger(SqlStore(database_url), ORIGIN, Signer.generate(), operator.did)


def test_a_missing_row_reads_as_a_gap_not_a_repeated_leaf(store, operator, checkpoint_key):
    ledger = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    _fill(ledger, operator, 5)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM log_entry WHERE seq = 2"))
    leaves = list(store.iter_leaves())
    assert len(leaves) == 4 and len(set(leaves)) == 4
