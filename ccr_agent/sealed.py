"""Opening an age-encrypted input: decrypt and digest in one pass over memory, nothing written on the way."""

from __future__ import annotations

import hashlib
import io

import pyrage

from schemas.errors import Unprocessable


def open_sealed(sealed: bytes, identity: str) -> tuple[memoryview, str]:
    """The plaintext and its `sha256:` digest. Streaming decryption into memory, then one SHA-256 over it:
    faster here than pyrage.decrypt alone (bench/agent.py measures both)."""
    plain = io.BytesIO()
    try:
        pyrage.decrypt_io(io.BytesIO(sealed), plain, [pyrage.x25519.Identity.from_str(identity)])
    except (pyrage.DecryptError, pyrage.IdentityError) as exc:
        raise Unprocessable(f"the input does not decrypt with the released key: {exc}") from exc
    view = plain.getbuffer()  # no copy of what may be gigabytes
    return view, "sha256:" + hashlib.sha256(view).hexdigest()
