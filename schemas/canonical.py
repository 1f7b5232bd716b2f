"""RFC 8785 (JCS) canonical bytes, strict JSON parsing and content digests."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

from schemas.errors import MalformedInput


def canonical(value: Any) -> bytes:
    """The RFC 8785 canonical bytes of a JSON value."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedInput(f"value has no RFC 8785 form: {exc}") from exc


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>`, the digest form used for statement, contract and artefact ids."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Two parsers that disagree on a duplicated key would see different signed content.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise MalformedInput(f"duplicate JSON key {dup!r}")
    return obj


def _no_constant(name: str) -> Any:
    raise MalformedInput(f"{name} is not JSON")


def parse_json(data: bytes | str) -> Any:
    """Parse JSON strictly: no duplicate keys, no NaN or Infinity."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except MalformedInput:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedInput(f"not JSON: {exc}") from exc
