"""What a dishonest operator who holds the checkpoint key can do: rewrite the stored log and sign it afresh.

The auditor must then catch the lie in the content, since the log itself verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chain.ledger.sqlstore import SqlStore
from chain.ledger.store import Batch
from chain.tlog import entry, merkle
from chain.tlog.checkpoint import Checkpoint, sign_checkpoint
from chain.tlog.tree import Tree
from schemas.canonical import canonical
from schemas.keys import Signer
from schemas.statement import statement_id


def statements(db: Path) -> list[tuple[str, dict[str, Any]]]:
    store = SqlStore(f"sqlite:///{db}")
    try:
        decoded = [entry.decode(leaf) for leaf in store.iter_leaves()]
    finally:
        store.close()
    return [(entry.timestamp(e.logged_at), e.statement) for e in decoded]


def write_log(db: Path, logged: list[tuple[str, dict[str, Any]]], key: Signer, origin: str) -> None:
    """A fresh database holding exactly these statements, under a checkpoint signed with the ledger's key."""
    leaves = [entry.encode(seq, at, canonical(st)) for seq, (at, st) in enumerate(logged)]
    tree = Tree()
    nodes = [n for leaf in leaves for n in tree.append(merkle.leaf_hash(leaf))]
    note = sign_checkpoint(Checkpoint(origin, tree.size, tree.root()), key)
    ids = [bytes.fromhex(statement_id(st)[7:]) for _, st in logged]
    store = SqlStore(f"sqlite:///{db}")
    try:
        store.append(Batch(0, leaves, ids, nodes, note))
    finally:
        store.close()
