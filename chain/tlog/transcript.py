"""A run's training transcript, committed to on the log: one JSON line per epoch (loss, the run's own spend so far,
the digest of the model it ended with, test metrics), after a header holding a fresh salt.

The clean room logs the RFC 9162 Merkle root of the file's exact lines in `run.complete`; the file itself leaves
encrypted to the recipients, like the model. Whoever holds it checks it against the log (`depa-audit transcript`)
and can prove one epoch with an inclusion proof, revealing no other line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chain.tlog import merkle
from schemas.encoding import b64
from schemas.errors import MalformedInput

HEADER = "depa_transcript"


@dataclass(frozen=True)
class Committed:
    root: str  # base64, as run.complete carries it
    epochs: int
    records: list[dict[str, Any]]


def commit(text: bytes) -> Committed:
    """The root of a transcript's lines and its epoch records; refuse a file that is not a transcript."""
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    try:
        parsed = [json.loads(line) for line in lines]
    except ValueError as exc:
        raise MalformedInput(f"a transcript line is not JSON: {exc}") from None
    if not parsed or not isinstance(parsed[0], dict) or parsed[0].get(HEADER) != 1:
        raise MalformedInput(f"not a training transcript: its first line must be the {HEADER} header")
    if not all(isinstance(record, dict) for record in parsed[1:]):
        raise MalformedInput("every transcript line after the header is one epoch's JSON object")
    frontier = merkle.Frontier()
    for line in lines:
        frontier.append(merkle.leaf_hash(line))
    return Committed(b64(frontier.root()), len(parsed) - 1, parsed[1:])
