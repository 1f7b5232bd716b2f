"""Every stored byte is checked against the leaves: a change to any column of any table stops the ledger from
starting (entries, nodes, the newest checkpoint) or is named by `depa-chain fsck` (every table)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from chain.ledger.home import check_home, init_home, open_home
from schemas import statement as s
from schemas.errors import LedgerCorrupt
from schemas.keys import Signer
from tests.conftest import age_recipient

FSCK = [str(Path(sys.executable).with_name("depa-chain")), "fsck", "--home"]

# (table, column, SQL that changes that column in one row, whether the ledger's start must notice)
FLIPS = [
    ("log_entry", "seq", "UPDATE log_entry SET seq = 99 WHERE seq = 2", True),
    ("log_entry", "statement_id", "UPDATE log_entry SET statement_id = zeroblob(32) WHERE seq = 4", True),
    (
        "log_entry",
        "leaf",
        "UPDATE log_entry SET leaf = CAST(replace(CAST(leaf AS TEXT), '\"TDP\"', '\"TDC\"') AS BLOB) WHERE seq = 3",
        True,
    ),  # fmt: skip
    ("log_node", "level", "UPDATE log_node SET level = 9 WHERE level = 0 AND idx = 3", True),
    ("log_node", "idx", "UPDATE log_node SET idx = 99 WHERE level = 0 AND idx = 3", True),
    ("log_node", "hash", "UPDATE log_node SET hash = zeroblob(32) WHERE level = 1 AND idx = 1", True),
    ("log_node", "hash (leaf)", "UPDATE log_node SET hash = zeroblob(32) WHERE level = 0 AND idx = 5", True),
    ("log_checkpoint", "size", "UPDATE log_checkpoint SET size = 3 WHERE size = 2", False),
    ("log_checkpoint", "size (newest)", "UPDATE log_checkpoint SET size = 60 WHERE size = 6", False),
    (
        "log_checkpoint",
        "note",
        "UPDATE log_checkpoint SET note = replace(note, 'ledger', 'ledgex') WHERE size = 4",
        False,
    ),  # fmt: skip
    (
        "log_checkpoint",
        "note (newest)",
        "UPDATE log_checkpoint SET note = replace(note, 'ledger', 'ledgex') WHERE size = 6",
        True,
    ),  # fmt: skip
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger home holding six entries in three batches, so three checkpoints besides the empty one."""
    home = tmp_path_factory.mktemp("pristine") / "home"
    init_home(home, "ledger.test/depa")
    operator = Signer.load(home / "operator.pem")
    ledger = open_home(home)
    for _ in range(3):
        batch = []
        for _ in range(2):
            did = Signer.generate().did
            body = {"did": did, "name": did[-8:], "roles": ["TDP"], "x25519": age_recipient()}
            batch.append(s.from_raw(s.sign(operator, "party.register", body)))
        ledger.integrate(batch)
    ledger.store.close()
    return home


@pytest.fixture
def home(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(pristine, copy)
    return copy


def tamper(home: Path, sql: str) -> None:
    with sqlite3.connect(home / "ledger.db") as db:
        assert db.execute(sql).rowcount == 1
    db.close()


def test_a_pristine_home_is_consistent(home: Path) -> None:
    found = check_home(home)
    assert found.problems == [] and (found.entries, found.checkpoints) == (6, 4)
    assert found.nodes == 6 + 3 + 1  # leaves, then the perfect subtrees of 2 and of 4


@pytest.mark.parametrize(("table", "column", "sql", "at_start"), FLIPS, ids=[f"{t}.{c}" for t, c, _, _ in FLIPS])
def test_every_column_of_every_table_is_checked(home: Path, table: str, column: str, sql: str, at_start: bool) -> None:
    tamper(home, sql)
    assert check_home(home).problems, f"fsck missed a change to {table}.{column}"
    if at_start:
        with pytest.raises(LedgerCorrupt):
            open_home(home)


def test_fsck_as_installed_names_each_problem_and_exits_1(home: Path) -> None:
    tamper(home, FLIPS[1][2])
    tamper(home, FLIPS[5][2])
    done = subprocess.run([*FSCK, str(home)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "statement_id" in done.stdout and "stored node (1, 1)" in done.stdout
    assert "2 inconsistencies" in done.stderr


def test_fsck_as_installed_passes_a_consistent_home_and_exits_0(home: Path) -> None:
    done = subprocess.run([*FSCK, str(home)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "is consistent: 6 entries, 10 nodes, 4 checkpoints" in done.stderr


def test_fsck_on_a_database_it_cannot_open_says_so_in_one_line_and_exits_2(home: Path) -> None:
    config = (home / "ledger.json").read_text()
    (home / "ledger.json").write_text(
        config.replace('"database_url": null', '"database_url": "sqlite:////nonexistent/x/ledger.db"')
    )
    done = subprocess.run([*FSCK, str(home)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "the database cannot be used: unable to open database file" in done.stderr
