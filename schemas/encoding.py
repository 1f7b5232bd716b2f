"""Base64 as the wire formats use it: standard with padding (C2SP, receipts), url-safe unpadded (signatures)."""

from __future__ import annotations

import base64
import binascii

from schemas.errors import MalformedInput


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str, what: str = "value") -> bytes:
    """Strict standard base64; anything else is malformed."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedInput(f"{what} is not base64") from exc


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str, what: str = "signature") -> bytes:
    """Base64url, with or without its padding (encoders differ; the bytes do not)."""
    if not isinstance(text, str):
        raise MalformedInput(f"{what} must be base64url text")
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedInput(f"{what} is not base64url") from exc
