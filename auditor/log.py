"""Log integrity, trusting nothing the ledger says about itself: the checkpoint's signature, every entry's bytes
and position, the root of all leaves, and consistency with the last checkpoint this auditor trusted."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from attestation.result import Check, check, failed, not_checked, passed
from auditor.snapshot import Snapshot
from chain.tlog import entry as entries
from chain.tlog import merkle
from chain.tlog.checkpoint import Checkpoint, VerifierKey, verify_checkpoint
from chain.tlog.entry import Entry
from schemas.encoding import b64
from schemas.errors import DepaError, WrongKey

STATE_FILE = "checkpoint"


Sink = Callable[[Entry, bytes], None]  # each covered entry, decoded, with its signed bytes


@dataclass
class LogResult:
    checks: list[Check]
    checkpoint: Checkpoint | None = None
    evidence: dict[str, str] = field(default_factory=dict)  # signed checkpoints that contradict each other

    @property
    def consistent(self) -> bool:
        return all(c.status != "fail" for c in self.checks)


def check_log(
    snapshot: Snapshot,
    vkey: VerifierKey,
    state: Path | None,
    sink: Sink | None = None,
    progress: Callable[[int], None] | None = None,
    roots: bytearray | None = None,
) -> LogResult:
    """One pass over the stored entries; each covered entry is handed to `sink` as it is read, none is kept.

    `roots`, if given, receives the root after each entry (32 bytes a size): attestation nonces name one."""
    try:
        cp = verify_checkpoint(snapshot.checkpoint, vkey)
    except WrongKey:
        raise  # a key for another log is the user's mistake (exit 2), not evidence against this one (exit 3)
    except DepaError as exc:
        return LogResult(
            [failed("checkpoint-signature", f"the checkpoint does not verify with the vkey: {exc.detail}")]
        )
    result = LogResult(
        [passed("checkpoint-signature", f"checkpoint of size {cp.size} signed by {vkey.name}")], checkpoint=cp
    )
    trusted = _trusted(state, vkey)
    tree, bad, count, decoded = merkle.Frontier(), [], 0, 0
    root_at_trusted = merkle.EMPTY_ROOT if trusted and trusted[1].size == 0 else None
    for seq, leaf in enumerate(snapshot.read()):
        count += 1
        if progress is not None and seq % 10_000 == 0:
            progress(seq)
        if seq >= cp.size:
            continue  # counted: stored entries no checkpoint covers
        tree.append(merkle.leaf_hash(leaf))
        if roots is not None:
            roots += tree.root()
        if trusted and tree.size == trusted[1].size:
            root_at_trusted = tree.root()
        try:
            found = entries.decode(leaf)
            signed = entries.signed_bytes(leaf, found)
        except DepaError as exc:
            bad.append(f"entry {seq}: {exc.detail}")
            continue
        if found.seq != seq:
            bad.append(f"entry {seq} says it is entry {found.seq} (rows deleted, inserted or swapped)")
        decoded += 1
        if sink is not None:
            sink(found, signed)
    result.checks.append(
        check(
            "entries",
            not bad,
            f"{decoded} entries decode, each at its own position",
            "; ".join(bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else ""),
        )
    )
    extra = count - cp.size
    result.checks.append(
        passed("coverage", f"the signed checkpoint covers all {cp.size} entries")
        if extra == 0
        else failed(
            "coverage",
            f"{extra} stored entries are not covered by the signed checkpoint (appended behind the ledger's back)",
        )
        if extra > 0
        else failed("coverage", f"the checkpoint signs {cp.size} entries; only {count} are there (rows deleted)")
    )
    if extra >= 0:
        root = tree.root()
        result.checks.append(
            check(
                "root",
                root == cp.root,
                "the root of every leaf is the signed root",
                f"the leaves hash to {b64(root)}, the checkpoint signs {b64(cp.root)}",
            )
        )
    result.checks.append(_history(snapshot, cp, trusted, root_at_trusted, result))
    if state is not None and result.consistent:
        state.mkdir(parents=True, exist_ok=True)
        (state / STATE_FILE).write_text(snapshot.checkpoint)
    return result


def _trusted(state: Path | None, vkey: VerifierKey) -> tuple[str, Checkpoint] | None:
    if state is None or not (state / STATE_FILE).exists():
        return None
    note = (state / STATE_FILE).read_text()
    return note, verify_checkpoint(note, vkey)


def _history(
    snapshot: Snapshot,
    cp: Checkpoint,
    trusted: tuple[str, Checkpoint] | None,
    root_at_trusted: bytes | None,
    result: LogResult,
) -> Check:
    """A checkpoint seen before must be a prefix of this log: else the ledger rolled back or forked."""
    if trusted is None:
        return not_checked("history", "no earlier checkpoint trusted (give --state to remember this one)")
    old_note, old = trusted
    if cp.size < old.size:
        result.evidence = {"trusted": old_note, "served": snapshot.checkpoint}
        return failed("history", f"rollback: the log shrank from {old.size} entries (trusted) to {cp.size}")
    if root_at_trusted != old.root:
        result.evidence = {"trusted": old_note, "served": snapshot.checkpoint}
        return failed("history", f"fork: the first {old.size} entries do not hash to the trusted checkpoint's root")
    return passed("history", f"consistent with the trusted checkpoint of size {old.size}")
