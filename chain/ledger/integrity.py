"""What a stored log must satisfy, every stored byte checked against the leaves: the one mechanism behind the
ledger's start (which stops at the first problem) and `depa-chain fsck` (which names every one).

- entries: seq contiguous from 0, each leaf a log entry naming its own seq, its statement_id the SHA-256 of
  its statement's signed bytes, and every statement one the registry can replay;
- nodes: every level holds exactly the perfect subtree hashes the leaves give, no more and no fewer;
- checkpoints: the newest is signed by this ledger and commits to exactly the stored tree; with `thorough`,
  every stored checkpoint verifies and its root is the tree's at its size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chain.ledger.rules import Registry
from chain.ledger.store import Store
from chain.tlog import entry, merkle
from chain.tlog.checkpoint import VerifierKey, verify_checkpoint
from chain.tlog.merkle import HASH_SIZE
from chain.tlog.tree import Tree
from schemas import statement as s
from schemas.encoding import b64
from schemas.errors import DepaError, LedgerCorrupt


@dataclass
class Scan:
    tree: Tree
    registry: Registry
    note: str | None = None  # the newest stored checkpoint, as read
    problems: list[str] = field(default_factory=list)
    entries: int = 0
    nodes: int = 0
    checkpoints: int = 0


def scan(store: Store, vkey: VerifierKey, operator: str, *, thorough: bool = False, stop: bool = True) -> Scan:
    """Read the whole stored log back; with `stop`, raise LedgerCorrupt at the first problem."""
    found = Scan(Tree(), Registry(operator))

    def problem(text: str) -> None:
        if stop:
            raise LedgerCorrupt(text)
        found.problems.append(text)

    _entries(store, found, problem)
    _nodes(store, found, problem)
    _latest(store, vkey, found, problem)
    if thorough:
        _checkpoints(store, vkey, found, problem)
    return found


def _entries(store: Store, found: Scan, problem: Callable[[str], None]) -> None:
    for expected, (seq, sid, leaf) in enumerate(store.iter_entries()):
        found.entries += 1
        if seq != expected:
            problem(f"stored entry {expected} is missing (the next row is entry {seq})")
            return  # every later seq, leaf hash and node would differ: one problem, not a million
        if not isinstance(leaf, bytes):
            problem(f"stored entry {seq} is not bytes")
            return
        try:
            logged = entry.decode(leaf)  # checks the leaf is canonical, so its signed bytes can be cut from it
            st = s.from_raw(logged.statement, entry.signed_bytes(leaf, logged))
        except DepaError as exc:
            problem(f"stored entry {seq} is not a log entry: {exc.detail}")
            return
        if logged.seq != seq:
            problem(f"stored entry {seq} says it is entry {logged.seq}")
        if sid != bytes.fromhex(st.id[7:]):
            problem(f"stored entry {seq}: its statement_id is not the id of the statement it holds ({st.id})")
        try:
            found.registry.apply(st, seq, logged.logged_at)
        except Exception as exc:  # a statement the ledger admitted always replays; this one was changed
            problem(f"stored entry {seq} ({st.kind}) does not replay: {type(exc).__name__}")
        found.tree.append(merkle.leaf_hash(leaf))


def _nodes(store: Store, found: Scan, problem: Callable[[str], None]) -> None:
    """Streamed level by level against the tree the leaves built: no copy of two million nodes in memory."""
    levels = found.tree.levels()
    level, next_idx, broken = 0, 0, False

    def close(level: int, count: int) -> None:
        want = len(levels[level]) // HASH_SIZE if level < len(levels) else 0
        if not broken and count != want:
            problem(f"level {level} of the stored tree has {count} nodes; the leaves give {want}")

    for row_level, idx, digest in store.iter_nodes():
        found.nodes += 1
        if row_level != level:
            close(level, next_idx)
            for skipped in range(level + 1, row_level):
                close(skipped, 0)
            level, next_idx, broken = row_level, 0, False
        if broken:
            continue
        have = levels[level] if level < len(levels) else b""
        if idx != next_idx:
            problem(f"stored node ({level}, {next_idx}) is missing")
            broken = True
        elif have[idx * HASH_SIZE : (idx + 1) * HASH_SIZE] != digest:
            problem(f"stored node ({level}, {idx}) is not the hash its leaves give")
            broken = True
        next_idx += 1
    close(level, next_idx)
    for rest in range(level + 1, len(levels)):
        close(rest, 0)


def _latest(store: Store, vkey: VerifierKey, found: Scan, problem: Callable[[str], None]) -> None:
    note = found.note = store.latest_checkpoint()
    size = found.tree.size
    if note is None:
        if size:
            problem(f"the store holds {size} entries but no signed checkpoint")
        return
    try:
        cp = verify_checkpoint(note, vkey)
    except DepaError as exc:
        problem(f"the last stored checkpoint does not verify with this ledger's key: {exc.detail}")
        return
    if cp.size != size or cp.root != found.tree.root():
        problem(
            f"the stored log (size {size}, root {b64(found.tree.root())}) does not match its last "
            f"signed checkpoint (size {cp.size}, root {b64(cp.root)})"
        )


def _checkpoints(store: Store, vkey: VerifierKey, found: Scan, problem: Callable[[str], None]) -> None:
    for size, note in store.iter_checkpoints():
        found.checkpoints += 1
        try:
            cp = verify_checkpoint(note, vkey)
        except DepaError as exc:
            problem(f"stored checkpoint {size} does not verify: {exc.detail}")
            continue
        if cp.size != size:
            problem(f"stored checkpoint {size} is the checkpoint of size {cp.size}")
        elif size > found.tree.size or cp.root != found.tree.root(size):
            problem(f"stored checkpoint {size} does not commit to the stored tree at that size")
