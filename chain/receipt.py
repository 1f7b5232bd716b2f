"""The receipt of an append (DESIGN section 2): entry, inclusion proof and signed checkpoint,
portable as a C2SP tlog-proof@v1 file (c2sp.org/tlog-proof) that verifies with the vkey alone."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel, ConfigDict

from chain import entry, merkle
from chain.checkpoint import Checkpoint, VerifierKey, verify_checkpoint
from schemas.canonical import canonical, sha256_digest
from schemas.errors import MalformedInput, VerificationError

HEADER = "c2sp.org/tlog-proof@v1"
MEDIA_TYPE = "text/x.tlog-proof"


class Receipt(BaseModel):
    """What every append returns; `leaf` and `proof` hashes are standard base64."""

    model_config = ConfigDict(frozen=True)

    seq: int
    statement_id: str
    leaf_hash: str
    leaf: str
    proof: list[str]
    checkpoint: str

    def to_tlog_proof(self) -> str:
        lines = [HEADER, f"extra {self.leaf}", f"index {self.seq}", *self.proof]
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def from_tlog_proof(cls, text: str) -> Receipt:
        head, sep, note = text.partition("\n\n")
        lines = head.split("\n")
        if not sep or lines[0] != HEADER:
            raise MalformedInput(f"not a {HEADER} file")
        extra = next((ln[6:] for ln in lines[1:] if ln.startswith("extra ")), None)
        index = next((ln[6:] for ln in lines[1:] if ln.startswith("index ")), None)
        if extra is None or index is None or not index.isdigit():
            raise MalformedInput("tlog-proof needs an 'extra' line with the leaf and an 'index' line")
        proof = [ln for ln in lines[1:] if not ln.startswith(("extra ", "index "))]
        leaf = _unb64(extra)
        return cls(
            seq=int(index),
            statement_id=_statement_id(leaf),
            leaf_hash=_b64(merkle.leaf_hash(leaf)),
            leaf=extra,
            proof=proof,
            checkpoint=note,
        )

    def verify(self, vkey: VerifierKey, origin: str | None = None) -> tuple[Checkpoint, entry.Entry]:
        """Check the whole receipt offline; return the checkpoint and the logged entry."""
        cp = verify_checkpoint(self.checkpoint, vkey, origin)
        leaf = _unb64(self.leaf)
        calculated = merkle.leaf_hash(leaf)
        if _b64(calculated) != self.leaf_hash:
            raise VerificationError("leaf hash does not match the leaf bytes")
        logged = entry.decode(leaf)
        if logged.seq != self.seq:
            raise VerificationError(f"leaf says seq {logged.seq}, receipt says {self.seq}")
        if _statement_id(leaf) != self.statement_id:
            raise VerificationError("statement id does not match the logged statement")
        merkle.verify_inclusion(self.seq, cp.size, calculated, [_unb64(p) for p in self.proof], cp.root)
        return cp, logged


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise MalformedInput("receipt field is not base64") from exc


def _statement_id(leaf: bytes) -> str:
    statement = entry.decode(leaf).statement
    return sha256_digest(canonical({k: v for k, v in statement.items() if k != "sig"}))


def build(seq: int, leaf: bytes, proof: list[bytes], checkpoint: str, statement_id: str) -> Receipt:
    return Receipt(
        seq=seq,
        statement_id=statement_id,
        leaf_hash=_b64(merkle.leaf_hash(leaf)),
        leaf=_b64(leaf),
        proof=[_b64(p) for p in proof],
        checkpoint=checkpoint,
    )
