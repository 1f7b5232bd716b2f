"""What an auditor verifies: a signed checkpoint and the log's entries, exactly as stored, from wherever they come.

From a ledger over HTTP, from a ledger's database (an auditor's read replica), or from a bundle file, offline.
A bundle is JSON: the checkpoint note and every entry as the JSON object that was hashed (RFC 8785 bytes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, Result, create_engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from chain.client import problem_error, signed_by
from chain.tlog.checkpoint import VerifierKey, verify_checkpoint
from schemas.canonical import canonical, parse_json
from schemas.errors import DepaError, MalformedInput, Unavailable, Unreachable
from schemas.keys import Signer

BUNDLE_FORMAT = "depa-audit-bundle/1"
PAGE = 1000


@dataclass(frozen=True)
class Snapshot:
    """A signed checkpoint and a way to read the stored entries in order, once, without holding them all."""

    checkpoint: str  # the signed note
    read: Callable[[], Iterator[bytes]]  # entry bytes, in log order
    source: str

    @property
    def leaves(self) -> list[bytes]:
        return list(self.read())


def from_ledger(url: str, vkey: VerifierKey, reader: Signer | None = None, timeout: float = 60.0) -> Snapshot:
    """The current checkpoint, then exactly the entries it covers (the log may grow meanwhile).

    `reader` signs the reads, for a ledger that serves its parties only: listing its log needs the AUDITOR role."""
    base = url.rstrip("/")
    try:
        note = _ok(httpx.get(f"{base}/v1/checkpoint", timeout=timeout)).text
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot read the ledger at {base}: {exc}") from exc
    size = verify_checkpoint(note, vkey).size

    def read() -> Iterator[bytes]:
        done = 0
        try:
            with httpx.Client(base_url=base, timeout=timeout, auth=signed_by(reader)) as http:
                while done < size:
                    page = _ok(http.get("/v1/entries", params={"start": done, "limit": PAGE})).json()
                    if not page:
                        return
                    for item in page[: size - done]:
                        yield canonical(item)
                    done += len(page)
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot read the ledger at {base}: {exc}") from exc

    return Snapshot(note, read, base)


def _ok(resp: httpx.Response) -> httpx.Response:
    if resp.status_code in (401, 403):  # the ledger serves its parties only: say so, not "unreachable"
        raise problem_error(resp)
    if resp.status_code >= 400:
        raise Unreachable(f"the ledger answered {resp.status_code} to {resp.request.url.path}")
    return resp


def from_database(url: str) -> Snapshot:
    """Every stored row, also those no checkpoint covers; the latest stored checkpoint.

    Read with the auditor's own two queries against the documented tables (docs/ledger.md), not the ledger's store:
    an auditor of a read replica trusts no code of the ledger it audits."""
    engine = _engine(url)
    note = _query(engine, url, "SELECT note FROM log_checkpoint ORDER BY size DESC LIMIT 1").scalar_one_or_none()
    if note is None:
        raise MalformedInput(f"{url} holds no signed checkpoint")

    def read() -> Iterator[bytes]:
        after = -1
        while True:
            page = _query(
                engine, url, "SELECT seq, leaf FROM log_entry WHERE seq > :after ORDER BY seq LIMIT :page",
                after=after, page=PAGE * 10,
            ).all()  # fmt: skip
            if not page:
                return
            for _, leaf in page:
                yield bytes(leaf)
            after = page[-1][0]

    return Snapshot(note, read, url)


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if not url.startswith(("sqlite:///", "postgresql+psycopg://")):
        raise MalformedInput(f"unsupported database URL {url!r}", remedy="give sqlite:///PATH or postgresql://...")
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).is_file():
        raise Unavailable(f"the database cannot be used: no file at {url[len('sqlite:///') :]}")
    return create_engine(url)


def _query(engine: Engine, url: str, sql: str, **params: object) -> Result:
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).freeze()()
    except DBAPIError as exc:
        if isinstance(exc, ProgrammingError) or "no such table" in str(exc.orig):
            raise MalformedInput(
                f"{url} holds no depa ledger: {exc.orig}".splitlines()[0],
                remedy="give the database a depa-chain ledger writes to",
            ) from exc
        raise Unavailable(f"the database cannot be used: {exc.orig}".splitlines()[0]) from exc


def write_bundle(snapshot: Snapshot, path: Path) -> int:
    """One JSON document, written as a header line then one entry per line, so it reads back as a stream."""
    head = json.dumps({"format": BUNDLE_FORMAT, "checkpoint": snapshot.checkpoint, "source": snapshot.source})
    count = 0
    with path.open("wb") as f:
        f.write(head[:-1].encode() + b',"entries":[\n')
        for leaf in snapshot.read():
            f.write((b",\n" if count else b"") + leaf)
            count += 1
        f.write(b"\n]}\n")
    return count


def from_bundle(path: Path) -> Snapshot:
    try:
        with path.open("rb") as f:
            head = parse_json(f.readline().rstrip(b"\n").removesuffix(b',"entries":[') + b"}")
    except OSError as exc:
        raise MalformedInput(f"cannot read bundle {path}: {exc.strerror}") from exc
    except DepaError as exc:
        raise MalformedInput(f"{path} is not a bundle: {exc.detail}") from exc
    if not isinstance(head, dict) or head.get("format") != BUNDLE_FORMAT:
        raise MalformedInput(f"{path} is not a {BUNDLE_FORMAT} file")

    def read() -> Iterator[bytes]:
        with path.open("rb") as f:
            f.readline()
            for line in f:
                line = line.rstrip(b"\n").removesuffix(b",")
                if line and line != b"]}":
                    yield line  # the leaf bytes as stored; the log check proves them canonical

    return Snapshot(head["checkpoint"], read, str(path))
