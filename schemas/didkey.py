"""did:key for Ed25519 (w3c-ccg did-method-key): multicodec 0xed01, base58btc, `z6Mk...`."""

from __future__ import annotations

from functools import lru_cache

import base58

from schemas.errors import MalformedInput

PREFIX = "did:key:z"
_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, varint-encoded


def encode(public_key: bytes) -> str:
    """The did:key of a 32-byte Ed25519 public key."""
    if len(public_key) != 32:
        raise MalformedInput(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
    return PREFIX + base58.b58encode(_ED25519_PUB + public_key).decode()


def decode(did: str) -> bytes:
    """The 32-byte Ed25519 public key of a did:key; anything else is rejected."""
    if not isinstance(did, str):
        raise MalformedInput(f"{did!r} is not a did:key (want did:key:z6Mk...)")
    return _decode(did)


@lru_cache(maxsize=65536)  # every statement names its issuer, and parties are few
def _decode(did: str) -> bytes:
    if not did.startswith(PREFIX):
        raise MalformedInput(f"{did!r} is not a did:key (want did:key:z6Mk...)")
    try:
        raw = base58.b58decode(did[len(PREFIX) :])
    except ValueError as exc:
        raise MalformedInput(f"{did!r} is not base58btc") from exc
    if raw[:2] != _ED25519_PUB or len(raw) != 34:
        raise MalformedInput(f"{did!r} is not an Ed25519 did:key")
    if encode(raw[2:]) != did:
        raise MalformedInput(f"{did!r} is not in canonical base58btc form")
    return raw[2:]
