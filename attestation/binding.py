"""The binding document's hash, which the clean room puts in REPORT_DATA (docs/design.md, flows)."""

from __future__ import annotations

import hashlib

from schemas.canonical import canonical
from schemas.statement import Binding


def report_data_for(binding: Binding) -> bytes:
    """SHA-512 of the document's RFC 8785 bytes: exactly the 64 bytes of REPORT_DATA."""
    return hashlib.sha512(canonical(binding.model_dump(mode="json"))).digest()
