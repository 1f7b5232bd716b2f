"""The receipt of an append (docs/design.md, wire formats): entry, inclusion proof and signed checkpoint,
portable as a C2SP tlog-proof@v1 file (c2sp.org/tlog-proof) that verifies with the vkey alone."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from chain.tlog import entry, merkle
from chain.tlog.checkpoint import Checkpoint, VerifierKey, verify_checkpoint
from schemas.encoding import b64, unb64
from schemas.errors import MalformedInput, VerificationError
from schemas.statement import statement_id

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
        leaf = unb64(extra, "tlog-proof extra line")
        return cls(
            seq=int(index),
            statement_id=statement_id(entry.decode(leaf).statement),
            leaf_hash=b64(merkle.leaf_hash(leaf)),
            leaf=extra,
            proof=proof,
            checkpoint=note,
        )

    def verify(self, vkey: VerifierKey, origin: str | None = None) -> tuple[Checkpoint, entry.Entry]:
        """Check the whole receipt offline; return the checkpoint and the logged entry."""
        cp = verify_checkpoint(self.checkpoint, vkey, origin)
        leaf = unb64(self.leaf, "receipt leaf")
        calculated = merkle.leaf_hash(leaf)
        if b64(calculated) != self.leaf_hash:
            raise VerificationError("leaf hash does not match the leaf bytes")
        logged = entry.decode(leaf)
        if logged.seq != self.seq:
            raise VerificationError(f"leaf says seq {logged.seq}, receipt says {self.seq}")
        if statement_id(entry.decode(leaf).statement) != self.statement_id:
            raise VerificationError("statement id does not match the logged statement")
        merkle.verify_inclusion(self.seq, cp.size, calculated, [unb64(p, "proof hash") for p in self.proof], cp.root)
        return cp, logged


def build(seq: int, leaf: bytes, proof: list[bytes], checkpoint: str, statement_id: str) -> Receipt:
    return Receipt(
        seq=seq,
        statement_id=statement_id,
        leaf_hash=b64(merkle.leaf_hash(leaf)),
        leaf=b64(leaf),
        proof=[b64(p) for p in proof],
        checkpoint=checkpoint,
    )
