"""The sequencer's working copy of the Merkle tree: every perfect node, one bytearray per level.

Receipts need a proof the moment a batch lands; reading the nodes from here instead of the
database keeps that off the hot path (64 bytes of memory per entry).
"""

from __future__ import annotations

from collections.abc import Sequence

from chain.tlog import merkle
from chain.tlog.merkle import HASH_SIZE, NodeId


class Tree:
    """The frontier's appends, with every perfect node it completes kept for proofs."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._frontier = merkle.Frontier()

    @property
    def size(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def node(self, node: NodeId) -> bytes:
        level, idx = node
        return bytes(self._levels[level][idx * HASH_SIZE : (idx + 1) * HASH_SIZE])

    def levels(self) -> list[bytearray]:
        """Every level's perfect nodes, concatenated: for checking a store against the leaves, not to change."""
        return self._levels

    def read(self, ids: Sequence[NodeId]) -> list[bytes]:
        return [self.node(i) for i in ids]

    def append(self, leaf_hash: bytes) -> list[tuple[NodeId, bytes]]:
        """Add a leaf; return the perfect nodes it completes, for the store."""
        nodes = self._frontier.append(leaf_hash)
        for (level, _), h in nodes:
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += h
        return nodes

    def root(self, size: int | None = None) -> bytes:
        return merkle.root(self.size if size is None else size, self.read)
