"""The constant-memory Merkle frontier (chain.tlog.merkle, the auditor's) agrees with the full tree on each prefix."""

from __future__ import annotations

import hashlib

import pytest

from chain.tlog.merkle import Frontier
from chain.tlog.tree import Tree


@pytest.mark.parametrize("size", [0, 1, 2, 3, 5, 8, 13, 64, 100])
def test_the_frontier_gives_the_rfc_9162_root_of_every_prefix(size: int) -> None:
    frontier, tree = Frontier(), Tree()
    for i in range(size):
        leaf = hashlib.sha256(i.to_bytes(4, "big")).digest()
        frontier.append(leaf)
        tree.append(leaf)
        assert frontier.root() == tree.root()
    assert frontier.size == size and frontier.root() == tree.root()
