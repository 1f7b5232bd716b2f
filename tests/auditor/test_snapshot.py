"""The auditor reads a ledger's database with its own queries: what it cannot use as a ledger it says so, in one
typed error, and never falls back on the ledger's store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from auditor.snapshot import from_database
from chain.ledger.sqlstore import SqlStore
from chain.ledger.store import Batch
from chain.tlog.tree import Tree
from schemas.errors import MalformedInput, Unavailable


def test_a_database_no_ledger_writes_to_is_named_as_such(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("CREATE TABLE t (a)").connection.commit()
    with pytest.raises(MalformedInput, match="holds no depa ledger: no such table: log_checkpoint"):
        from_database(f"sqlite:///{db}")


def test_a_ledger_that_never_signed_a_checkpoint_has_nothing_to_audit(tmp_path: Path) -> None:
    SqlStore(f"sqlite:///{tmp_path / 'empty.db'}").close()
    with pytest.raises(MalformedInput, match="holds no signed checkpoint"):
        from_database(f"sqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.parametrize(
    ("url", "error", "says"),
    [
        ("mysql://db/ledger", MalformedInput, "unsupported database URL"),
        ("sqlite:////nonexistent/ledger.db", Unavailable, "the database cannot be used: no file at"),
        ("postgresql://127.0.0.1:1/test", Unavailable, "the database cannot be used: connection failed"),
    ],
)
def test_a_database_that_cannot_be_read_is_one_typed_error(url: str, error: type, says: str) -> None:
    with pytest.raises(error, match=says):
        from_database(url)


def test_the_auditor_reads_the_rows_the_ledger_stored(tmp_path: Path) -> None:
    """Paged by seq: every row once, in order, across pages."""
    store, tree = SqlStore(f"sqlite:///{tmp_path / 'l.db'}"), Tree()
    leaves = [b'{"n":%d}' % i for i in range(25_001)]
    nodes = [node for leaf in leaves for node in tree.append(leaf.ljust(32, b"\0")[:32])]
    store.append(Batch(0, leaves, [i.to_bytes(8, "big") for i in range(len(leaves))], nodes, "note"))
    store.close()
    snapshot = from_database(f"sqlite:///{tmp_path / 'l.db'}")
    assert (snapshot.checkpoint, snapshot.leaves) == ("note", leaves)
