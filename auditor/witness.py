"""A witness (c2sp.org/tlog-witness, simplified): cosign a ledger's checkpoint only once it is shown consistent
with the last one this witness cosigned, so a ledger cannot show different histories to different parties."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from chain.client import LedgerClient
from chain.tlog.checkpoint import COSIGNATURE_V1, VerifierKey, cosign, parse_note, verify_checkpoint, vkey_of
from schemas.errors import ForkError
from schemas.keys import Signer

STATE_FILE = "witnessed"


@dataclass(frozen=True)
class Witnessed:
    size: int
    previous: int | None
    note: str  # the ledger's checkpoint, with every cosignature it now carries


def witness_vkey(name: str, signer: Signer) -> VerifierKey:
    return vkey_of(name, signer, COSIGNATURE_V1)


def witness(url: str, vkey: VerifierKey, signer: Signer, name: str, state: Path) -> Witnessed:
    """Cosign the ledger's checkpoint if it extends the last one this witness cosigned, proven as every client
    proves it (`LedgerClient.observe`); a witness also never goes back."""
    client = LedgerClient(url, vkey)
    previous = None
    if (state / STATE_FILE).exists():
        old_note = (state / STATE_FILE).read_text()
        old = verify_checkpoint(old_note, vkey)
        client.observe(old_note, old)
        previous = old.size
    note, cp = client.signed_checkpoint()
    if previous is not None and cp.size < previous:
        raise ForkError(f"the ledger went back from {previous} to {cp.size} entries", old=old_note, new=note)
    line = cosign(parse_note(note).text, name, signer, int(time.time())).line()
    cosigned = client.add_cosignature(note + line)
    state.mkdir(parents=True, exist_ok=True)
    (state / STATE_FILE).write_text(note)
    return Witnessed(cp.size, previous, cosigned)
