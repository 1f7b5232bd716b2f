"""What an auditor verifies: a signed checkpoint and the log's entries, exactly as stored, from wherever they come.

From a ledger over HTTP, from a ledger's database (an auditor's read replica), or from a bundle file, offline.
A bundle is JSON: the checkpoint note and every entry as the JSON object that was hashed (RFC 8785 bytes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx

from chain.checkpoint import VerifierKey, verify_checkpoint
from schemas.canonical import canonical, parse_json
from schemas.errors import DepaError, MalformedInput, Unreachable

BUNDLE_FORMAT = "depa-audit-bundle/1"
PAGE = 1000


@dataclass(frozen=True)
class Snapshot:
    checkpoint: str  # the signed note
    leaves: list[bytes]  # entry bytes, in log order
    source: str


def from_ledger(url: str, vkey: VerifierKey, timeout: float = 60.0) -> Snapshot:
    """The current checkpoint, then exactly the entries it covers (the log may grow meanwhile)."""
    base = url.rstrip("/")
    try:
        with httpx.Client(base_url=base, timeout=timeout) as http:
            note = _ok(http.get("/v1/checkpoint")).text
            size = verify_checkpoint(note, vkey).size
            leaves: list[bytes] = []
            while len(leaves) < size:
                page = _ok(http.get("/v1/entries", params={"start": len(leaves), "limit": PAGE})).json()
                if not page:
                    break
                leaves += [canonical(item) for item in page[: size - len(leaves)]]
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot read the ledger at {base}: {exc}") from exc
    return Snapshot(note, leaves, base)


def _ok(resp: httpx.Response) -> httpx.Response:
    if resp.status_code >= 400:
        raise Unreachable(f"the ledger answered {resp.status_code} to {resp.request.url.path}")
    return resp


def from_database(url: str) -> Snapshot:
    """Every stored row, also those no checkpoint covers; the latest stored checkpoint."""
    from chain.sqlstore import SqlStore

    store = SqlStore(url)
    try:
        note = store.latest_checkpoint()
        leaves = list(store.iter_leaves())
    finally:
        store.close()
    if note is None:
        raise MalformedInput(f"{url} holds no signed checkpoint")
    return Snapshot(note, leaves, url)


def write_bundle(snapshot: Snapshot, path: Path) -> None:
    entries = b",".join(snapshot.leaves)
    head = json.dumps({"format": BUNDLE_FORMAT, "checkpoint": snapshot.checkpoint, "source": snapshot.source})
    path.write_bytes(head[:-1].encode() + b',"entries":[' + entries + b"]}\n")


def from_bundle(path: Path) -> Snapshot:
    try:
        doc = parse_json(path.read_bytes())
    except OSError as exc:
        raise MalformedInput(f"cannot read bundle {path}: {exc.strerror}") from exc
    except DepaError as exc:
        raise MalformedInput(f"{path} is not a bundle: {exc.detail}") from exc
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise MalformedInput(f"{path} is not a {BUNDLE_FORMAT} file")
    return Snapshot(doc["checkpoint"], [canonical(e) for e in doc["entries"]], str(path))
