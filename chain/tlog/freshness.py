"""The attestation nonce: a checkpoint of this very log, so evidence cannot predate it, and a window after which
evidence bound to it is stale.

The clean room binds `"<size>:<root, base64>"` of a checkpoint it read into its hardware report. A checkpoint
stays current until the next entry is logged; evidence is fresh if its checkpoint was current at most the
contract's `ccr.nonce_window_s` seconds before the attestation was logged. The ledger, which holds the log,
checks both; the auditor re-checks both from the log it replays; a key broker checks the root against the
log with a consistency proof (the window is measured by the ledger's clock, which every logged_at trusts).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from chain.tlog.checkpoint import Checkpoint
from schemas.encoding import b64, unb64
from schemas.errors import AttestationRejected

_NONCE = re.compile(r"^(0|[1-9]\d{0,18}):([A-Za-z0-9+/]{43}=)$")


def nonce_for(cp: Checkpoint) -> str:
    return f"{cp.size}:{b64(cp.root)}"


def parse_nonce(nonce: str) -> tuple[int, bytes]:
    found = _NONCE.match(nonce)
    if found is None:
        raise AttestationRejected(
            f"the binding's nonce {nonce[:80]!r} names no checkpoint",
            remedy="bind the evidence to '<size>:<root>' of a checkpoint just read from this ledger",
        )
    return int(found[1]), unb64(found[2], "nonce root")


def check_nonce(
    nonce: str,
    attested_at: datetime,
    window_s: int,
    root_at: Callable[[int], bytes | None],
    superseded_at: Callable[[int], datetime | None],
) -> None:
    """Raise AttestationRejected unless `nonce` names a checkpoint of this log current within the window.

    `root_at(size)`: the log's root at that size, None past its end; `superseded_at(size)`: when entry `size`
    was logged (the moment that checkpoint stopped being the newest), None if it still is."""
    size, root = parse_nonce(nonce)
    if root_at(size) != root:
        raise AttestationRejected(f"the nonce names no checkpoint of this log (size {size} with another root)")
    ended = superseded_at(size)
    age = 0.0 if ended is None else (attested_at - ended).total_seconds()
    if age > window_s:
        raise AttestationRejected(
            f"the nonce's checkpoint (size {size}) was superseded {age:.0f} s before the attestation; "
            f"the contract accepts {window_s} s",
            remedy="attest again, bound to the ledger's current checkpoint",
        )
