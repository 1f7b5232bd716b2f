"""The log entry (docs/design.md, wire formats): `{"seq", "logged_at", "statement"}` as RFC 8785 bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from schemas.canonical import is_canonical, parse_json
from schemas.errors import MalformedInput


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)
    logged_at: AwareDatetime
    statement: dict[str, Any]


def timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC with milliseconds, the form every logged_at takes."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def encode(seq: int, logged_at: str, statement: bytes) -> bytes:
    """The leaf bytes, given the statement's own RFC 8785 bytes.

    Equal to `canonical({"seq", "logged_at", "statement"})`: the keys are already in JCS order
    and `logged_at` (from `timestamp`) needs no escaping.
    """
    return b'{"logged_at":"%s","seq":%d,"statement":%s}' % (logged_at.encode(), seq, statement)


def decode(leaf: bytes) -> Entry:
    """Read leaf bytes back; they must be exactly the canonical form that was hashed."""
    raw = parse_json(leaf)
    try:
        entry = Entry.model_validate(raw)
    except ValidationError as exc:
        raise MalformedInput(f"leaf is not a log entry: {exc.errors()[0]['msg']}") from exc
    if not is_canonical(raw, leaf):
        raise MalformedInput("leaf bytes are not in RFC 8785 canonical form")
    return entry


def signed_bytes(leaf: bytes, entry: Entry) -> bytes:
    """The statement's signed bytes, cut from a canonical leaf: its RFC 8785 bytes without the `sig` member.

    JCS orders a statement's keys body, iat, iss, sig, typ, so removing `,"sig":"..."` leaves the canonical form
    of the rest; this spares a second canonicalisation per entry when a whole log is verified.
    """
    st = entry.statement
    if not isinstance(st.get("sig"), str) or not isinstance(st.get("typ"), str):
        raise MalformedInput(f"entry {entry.seq} holds no statement with sig and typ")
    tail = b',"sig":"' + st["sig"].encode() + b'","typ":' + json.dumps(st["typ"]).encode() + b"}"
    statement = leaf[leaf.index(b',"statement":') + len(b',"statement":') : -1]
    if not statement.endswith(tail):
        raise MalformedInput(f"entry {entry.seq}: sig and typ are not the statement's last members")
    return statement[: -len(tail)] + b',"typ":' + json.dumps(st["typ"]).encode() + b"}"
