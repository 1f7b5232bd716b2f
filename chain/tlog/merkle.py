"""RFC 9162 Merkle tree hashing, proofs from stored subtree hashes, and their verification.

Nodes are named by (level, index): the perfect subtree over leaves
[index * 2**level, (index + 1) * 2**level). A store keeps every perfect node; any RFC 9162
subtree hash is a right fold of at most log2(n) of them, so a proof costs O(log n) reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from schemas.errors import VerificationError

HASH_SIZE = 32
NodeId = tuple[int, int]
ReadNodes = Callable[[Sequence[NodeId]], Sequence[bytes]]


class RootMismatch(VerificationError):
    """A proof led to a root other than the one expected."""

    def __init__(self, expected: bytes, calculated: bytes) -> None:
        super().__init__(f"calculated root {calculated.hex()} does not match expected root {expected.hex()}")
        self.expected = expected
        self.calculated = calculated


class ProofError(VerificationError):
    """A proof that is malformed for the sizes given, before any hashing."""


# RFC 9162 section 2.1.1: leaf and interior node hashes with domain separation.
def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1), RFC 9162's k."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(begin: int, end: int) -> list[NodeId]:
    """The perfect subtrees covering [begin, end), largest first, as RFC 9162 splits them."""
    nodes = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        while begin % (1 << level):
            level -= 1
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 hash of a range from its perfect subtree hashes (largest first)."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_nodes(size: int) -> list[NodeId]:
    return perfect_nodes(0, size)


# RFC 9162 section 2.1.3.1: the subtrees whose hashes form PATH(m, D[0:n]).
def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    return ranges[::-1]


# RFC 9162 section 2.1.4.1: the subtrees whose hashes form PROOF(m, D[0:n]).
def consistency_ranges(size1: int, size2: int) -> list[tuple[int, int]]:
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    ranges = []
    lo, hi, m, whole = 0, size2, size1, True
    while m != hi:
        k = _split(hi - lo)
        if m - lo <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    return ranges[::-1]


def hashes_of_ranges(ranges: Sequence[tuple[int, int]], read: ReadNodes) -> list[bytes]:
    """Each range's RFC 9162 hash, reading every perfect node needed in one call."""
    parts = [perfect_nodes(b, e) for b, e in ranges]
    flat = read([node for part in parts for node in part])
    out, at = [], 0
    for part in parts:
        out.append(fold(flat[at : at + len(part)]))
        at += len(part)
    return out


def inclusion_proof(index: int, size: int, read: ReadNodes) -> list[bytes]:
    return hashes_of_ranges(inclusion_ranges(index, size), read)


def consistency_proof(size1: int, size2: int, read: ReadNodes) -> list[bytes]:
    if size1 == size2:
        return []
    return hashes_of_ranges(consistency_ranges(size1, size2), read)


def root(size: int, read: ReadNodes) -> bytes:
    return fold(read(root_nodes(size)))


def _check_hash(name: str, h: bytes) -> None:
    if len(h) != HASH_SIZE:
        raise ProofError(f"{name} is {len(h)} bytes, not {HASH_SIZE}")


# RFC 9162 section 2.1.3.2: verifying an inclusion proof.
def root_from_inclusion_proof(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ProofError(f"index {index} is outside a tree of size {size}")
    _check_hash("leaf hash", leaf_hash)
    for h in proof:
        _check_hash("proof hash", h)
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is too short for the tree size")
    return r


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> None:
    _check_hash("root", root)
    calculated = root_from_inclusion_proof(index, size, leaf_hash, proof)
    if calculated != root:
        raise RootMismatch(root, calculated)


# RFC 9162 section 2.1.4.2: verifying a consistency proof.
def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    for h in proof:
        _check_hash("proof hash", h)
    if size1 == 0:
        raise ProofError("a consistency proof from an empty tree proves nothing")
    if size2 < size1:
        raise ProofError(f"size2 {size2} is smaller than size1 {size1}")
    if size1 == size2:
        # Nothing is hashed: equal roots are consistent whatever their form.
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if root1 != root2:
            raise RootMismatch(root1, root2)
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 is a power of two: root1 is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is too short")
    if fr != root1:
        raise RootMismatch(root1, fr)
    if sr != root2:
        raise RootMismatch(root2, sr)


def valid_subtree(start: int, end: int) -> bool:
    """[start, end) is a subtree when start is a multiple of the power of two at or above its width."""
    return 0 <= start < end and start % (1 << (end - start - 1).bit_length()) == 0


# draft-ietf-plants-merkle-tree-certs section 4.3.3: a leaf in the subtree [start, end).
def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    if not valid_subtree(start, end) or not start <= index < end:
        raise ProofError(f"[{start}, {end}) is not a subtree holding leaf {index}")
    verify_inclusion(index - start, end - start, leaf_hash, proof, root)


# draft-ietf-plants-merkle-tree-certs section 4.4.3: the subtree [start, end) in a tree of size n.
def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root: bytes
) -> None:
    if start == end <= size:
        # The empty subtree sits in every tree; its hash is the empty root.
        if proof or subtree_root != EMPTY_ROOT:
            raise ProofError("an empty subtree has the empty root and no proof")
        return
    if not valid_subtree(start, end) or end > size:
        raise ProofError(f"[{start}, {end}) is not a subtree of a tree of size {size}")
    if start == 0 and end == size:
        if proof:
            raise ProofError("the subtree is the whole tree but the proof is not empty")
        if subtree_root != root:
            raise RootMismatch(root, subtree_root)
        return
    for h in (subtree_root, root, *proof):
        _check_hash("hash", h)
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        while fn != sn:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if fn == sn:
        fr = sr = subtree_root
        rest = list(proof)
    else:
        if not proof:
            raise ProofError("subtree consistency proof is empty")
        fr = sr = proof[0]
        rest = list(proof[1:])
    for c in rest:
        if tn == 0:
            raise ProofError("subtree consistency proof is too long")
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not sn & 1:
                fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn, tn = fn >> 1, sn >> 1, tn >> 1
    if tn != 0:
        raise ProofError("subtree consistency proof is too short")
    if fr != subtree_root:
        raise RootMismatch(subtree_root, fr)
    if sr != root:
        raise RootMismatch(root, sr)


class Frontier:
    """The compact range [0, size) (RFC 9162 section 2.1.1; Tessera's compact.Range): the roots of the perfect
    subtrees covering the leaves so far. It gives the root of the tree in O(log n) memory, which the auditor needs
    to replay a million-leaf log, and names each perfect node an append completes, which the sequencer stores."""

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), largest subtree first

    def append(self, leaf_hash: bytes) -> list[tuple[NodeId, bytes]]:
        """Add a leaf; return the perfect nodes it completes, itself first."""
        level, index, node = 0, self.size, leaf_hash
        completed = [((0, index), leaf_hash)]
        while self._stack and self._stack[-1][0] == level:
            node = node_hash(self._stack.pop()[1], node)
            level, index = level + 1, index >> 1
            completed.append(((level, index), node))
        self._stack.append((level, node))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        root = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            root = node_hash(left, root)
        return root
