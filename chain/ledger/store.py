"""What the ledger needs from storage, and an in-memory implementation for fast tests.

The log is append-only: a batch of entries, the perfect Merkle nodes they complete and the
checkpoint that covers them are written together or not at all. Nothing is updated or deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chain.tlog.merkle import NodeId

COSIGNED = "\n\u2014 "  # each signature line of a signed note starts with an em dash (c2sp.org/signed-note)


@dataclass(frozen=True)
class Batch:
    first_seq: int
    leaves: list[bytes]
    statement_ids: list[bytes]
    nodes: list[tuple[NodeId, bytes]]
    checkpoint: str


class Store(Protocol):
    def size(self) -> int: ...

    def latest_checkpoint(self) -> str | None: ...

    def write_checkpoint(self, size: int, note: str) -> None: ...

    def checkpoint_at(self, size: int) -> str | None: ...

    def latest_witnessed(self) -> str | None:
        """The largest stored checkpoint that carries a signature besides the log's own."""
        ...

    def append(self, batch: Batch) -> None: ...

    def read_nodes(self, ids: Sequence[NodeId]) -> list[bytes]: ...

    def leaves(self, start: int, limit: int) -> list[bytes]: ...

    def iter_leaves(self) -> Iterator[bytes]: ...

    def iter_entries(self) -> Iterator[tuple[int, bytes, bytes]]:
        """(seq, statement_id, leaf) of every stored row, in seq order."""
        ...

    def iter_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        """(level, idx, hash) of every stored node, by level then index."""
        ...

    def iter_checkpoints(self) -> Iterator[tuple[int, str]]:
        """(size, note) of every stored checkpoint, by size."""
        ...

    def seqs_of(self, statement_ids: Sequence[bytes]) -> dict[bytes, int]: ...

    def close(self) -> None: ...


@dataclass
class MemoryStore:
    _leaves: list[bytes] = field(default_factory=list)
    _ids: dict[bytes, int] = field(default_factory=dict)
    _nodes: dict[NodeId, bytes] = field(default_factory=dict)
    _checkpoints: dict[int, str] = field(default_factory=dict)

    def size(self) -> int:
        return len(self._leaves)

    def latest_checkpoint(self) -> str | None:
        return self._checkpoints[max(self._checkpoints)] if self._checkpoints else None

    def write_checkpoint(self, size: int, note: str) -> None:
        self._checkpoints[size] = note

    def checkpoint_at(self, size: int) -> str | None:
        return self._checkpoints.get(size)

    def latest_witnessed(self) -> str | None:
        cosigned = [size for size, note in self._checkpoints.items() if note.count(COSIGNED) >= 2]
        return self._checkpoints[max(cosigned)] if cosigned else None

    def append(self, batch: Batch) -> None:
        assert batch.first_seq == len(self._leaves), "batches are appended in order"
        for i, sid in enumerate(batch.statement_ids):
            self._ids[sid] = batch.first_seq + i
        self._leaves.extend(batch.leaves)
        self._nodes.update(batch.nodes)
        self._checkpoints[len(self._leaves)] = batch.checkpoint

    def read_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        return [self._nodes[i] for i in ids]

    def leaves(self, start: int, limit: int) -> list[bytes]:
        return self._leaves[start : start + limit]

    def iter_leaves(self) -> Iterator[bytes]:
        return iter(list(self._leaves))

    def iter_entries(self) -> Iterator[tuple[int, bytes, bytes]]:
        ids = {seq: sid for sid, seq in self._ids.items()}
        return iter([(seq, ids[seq], leaf) for seq, leaf in enumerate(self._leaves)])

    def iter_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        return iter([(level, idx, h) for (level, idx), h in sorted(self._nodes.items())])

    def iter_checkpoints(self) -> Iterator[tuple[int, str]]:
        return iter(sorted(self._checkpoints.items()))

    def seqs_of(self, statement_ids: Sequence[bytes]) -> dict[bytes, int]:
        return {i: self._ids[i] for i in statement_ids if i in self._ids}

    def close(self) -> None:
        pass
