"""A witness (c2sp.org/tlog-witness, simplified): cosign a ledger's checkpoint only once it is shown consistent
with the last one this witness cosigned, so a ledger cannot show different histories to different parties."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from chain.client import LedgerClient, problem_error
from chain.tlog import merkle
from chain.tlog.checkpoint import COSIGNATURE_V1, VerifierKey, cosign, parse_note, verify_checkpoint, vkey_of
from schemas.errors import DepaError, ForkError, Unreachable
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
    client = LedgerClient(url, vkey)
    cp = client.checkpoint()
    note = client.last or ""
    previous = None
    if (state / STATE_FILE).exists():
        old_note = (state / STATE_FILE).read_text()
        old = verify_checkpoint(old_note, vkey)
        previous = old.size
        try:
            if cp.size < old.size:
                raise ForkError(f"the ledger went back from {old.size} to {cp.size} entries", old=old_note, new=note)
            proof = client.consistency(old.size, cp.size) if old.size < cp.size else []
            if old.size:
                merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
        except ForkError:
            raise
        except DepaError as exc:
            raise ForkError(
                f"checkpoint {cp.size} is not consistent with the one witnessed at {old.size}: {exc.detail}",
                old=old_note,
                new=note,
            ) from exc
    text = parse_note(note).text
    line = cosign(text, name, signer, int(time.time())).line()
    try:
        resp = httpx.post(f"{url.rstrip('/')}/v1/checkpoint/cosignatures", content=note + line, timeout=30)
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot reach the ledger at {url}: {exc}") from exc
    if resp.status_code >= 400:
        raise problem_error(resp)
    state.mkdir(parents=True, exist_ok=True)
    (state / STATE_FILE).write_text(note)
    return Witnessed(cp.size, previous, resp.text)
