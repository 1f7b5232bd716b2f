"""The explorer's index: entries filtered by type, party, contract, run and time, newest first, paged by seq.

The log holds the statements; this keeps five small columns per entry (about 30 bytes) so a filtered page is a
walk over one posting list, never a scan of the stored rows. It follows the store, reading only what is new.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel, field_validator

from chain.ledger.follower import Follower
from chain.ledger.store import Store
from schemas.statement import KINDS

_COLUMNS = ("kind", "signer", "contract", "run")


class EntryRow(BaseModel):
    """One line of the explorer: what an entry is, who signed it, what it concerns."""

    seq: int
    logged_at: str
    kind: str
    signer: str  # the issuer's DID
    signer_name: str | None = None  # the party it was registered to, when it is one
    contract: str | None
    run: str | None
    summary: str


class Filters(BaseModel):
    kind: str | None = None
    signers: list[str] | None = None  # every DID a party ever had
    contract: str | None = None
    run: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @field_validator("kind", "contract", "run", mode="before")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class Page(BaseModel):
    rows: list[EntryRow]
    size: int  # the log's size when the page was read
    next_before: int | None  # pass as `before` for the next (older) page


def row_of(leaf: bytes) -> EntryRow:
    entry = json.loads(leaf)
    st = entry["statement"]
    body = st.get("body") or {}
    kind = KINDS.get(st.get("typ"), str(st.get("typ")))
    return EntryRow(
        seq=entry["seq"],
        logged_at=entry["logged_at"],
        kind=kind,
        signer=st.get("iss", ""),
        contract=_contract_of(kind, body),
        run=body.get("run_id") or body.get("produced_by"),
        summary=_summary(kind, body),
    )


def _contract_of(kind: str, body: dict) -> str | None:
    if kind == "contract.propose":
        from schemas.contract import contract_id

        return contract_id(body["contract"])
    return body.get("contract_id")


def _summary(kind: str, b: dict) -> str:
    """A few words on what the entry says; the full statement is one click away."""
    match kind:
        case "party.register":
            return f"{b.get('name')} as {', '.join(b.get('roles', []))}"
        case "contract.propose":
            c = b.get("contract", {})
            return f"{c.get('id')} for {c.get('purpose')}, {len(c.get('datasets', []))} datasets"
        case "contract.sign":
            return "signs the contract"
        case "artefact.register":
            return f"{b.get('kind')} {b.get('name')}"
        case "dataset.cap":
            return f"caps epsilon {b.get('epsilon')}, delta {b.get('delta')} across contracts"
        case "attestation.report":
            return f"{(b.get('evidence') or {}).get('type')} evidence"
        case "budget.reserve" | "budget.commit" | "budget.abort" | "key.release":
            return f"dataset {b.get('dataset')}"
        case "run.start":
            return f"{len(b.get('inputs', []))} inputs"
        case "run.complete":
            return f"{b.get('status')}" + (f": {b['reason']}" if b.get("reason") else "")
        case "party.rotate":
            return f"to {b.get('new_did', '')[:24]}..."
        case "party.revoke" | "contract.revoke":
            return b.get("reason") or ""
    return ""


class EntryIndex(Follower):
    """Columns and posting lists over the log, extended as the store grows (thread-safe)."""

    def __init__(self, store: Store, chunk: int = 1000) -> None:
        super().__init__(store, chunk)
        self._codes: dict[str, dict[str, int]] = {c: {} for c in _COLUMNS}
        self._columns = {c: array("I") for c in _COLUMNS}
        self._times = array("q")  # logged_at as milliseconds since the epoch
        self._ordered = True  # whether logged_at never went back, so a time window is a range of seqs
        self._postings: dict[tuple[str, int], array] = {}

    @property
    def size(self) -> int:
        return self.processed

    def add(self, seq: int, leaf: bytes) -> None:
        row = row_of(leaf)
        for column, value in zip(_COLUMNS, (row.kind, row.signer, row.contract, row.run), strict=True):
            code = self._code(column, value)
            self._columns[column].append(code)
            if code:
                self._postings.setdefault((column, code), array("I")).append(seq)
        at = int(datetime.fromisoformat(row.logged_at).timestamp() * 1000)
        self._ordered = self._ordered and (not self._times or at >= self._times[-1])
        self._times.append(at)

    def _code(self, column: str, value: str | None) -> int:
        if value is None:
            return 0
        codes = self._codes[column]
        return codes.setdefault(value, len(codes) + 1)

    def values(self, column: str) -> list[str]:
        return list(self._codes[column])

    def query(self, f: Filters, before: int | None, limit: int) -> tuple[list[int], int | None]:
        """Seqs matching every filter, newest first, below `before`; and the `before` of the next page."""
        unfiltered = f == Filters()
        size = self.store.size() if unfiltered else self.follow()
        end = size if before is None else min(before, size)
        wanted = self._wanted(f)
        if wanted is None:
            return [], None
        since = int(f.since.timestamp() * 1000) if f.since else None
        until = int(f.until.timestamp() * 1000) if f.until else None
        if self._ordered and until is not None:
            end = min(end, bisect_left(self._times, until, 0, end))
        checks: list[Callable[[int], bool]] = [_member(self._columns[c], frozenset(v)) for c, v in wanted.items()]
        if since is not None:
            checks.append(lambda seq: self._times[seq] >= since)
        if until is not None:
            checks.append(lambda seq: self._times[seq] < until)
        found: list[int] = []
        for seq in range(end - 1, -1, -1) if unfiltered else self._candidates(wanted, end):
            if self._ordered and since is not None and self._times[seq] < since:
                break  # newest first, and every older entry was logged earlier still
            if all(check(seq) for check in checks):
                if len(found) == limit:
                    return found, found[-1]
                found.append(seq)
        return found, None

    def _wanted(self, f: Filters) -> dict[str, list[int]] | None:
        """Column -> acceptable codes; None when a filter names a value the log never held."""
        wanted = {}
        for column, values in (("kind", [f.kind]), ("signer", f.signers), ("contract", [f.contract]), ("run", [f.run])):
            if values is None or values == [None]:
                continue
            codes = [self._codes[column][v] for v in values if v in self._codes[column]]
            if not codes:
                return None
            wanted[column] = codes
        return wanted

    def _candidates(self, wanted: dict[str, list[int]], end: int) -> Sequence[int] | range:
        """The shortest posting list that every match must be on, newest first; or every seq below `end`."""
        lists = [self._merged([self._postings[(c, code)] for code in codes]) for c, codes in wanted.items()]
        if not lists:
            return range(end - 1, -1, -1)
        shortest = min(lists, key=len)
        return shortest[: bisect_left(shortest, end)][::-1]

    @staticmethod
    def _merged(postings: list[array]) -> array:
        return postings[0] if len(postings) == 1 else array("I", sorted(s for p in postings for s in p))


def _member(column: array, codes: frozenset[int]) -> Callable[[int], bool]:
    return lambda seq: column[seq] in codes


def page(store: Store, index: EntryIndex, f: Filters, before: int | None, limit: int) -> Page:
    seqs, next_before = index.query(f, before, limit)
    return Page(rows=[row_of(leaf) for leaf in _read(store, seqs)], size=store.size(), next_before=next_before)


def _read(store: Store, seqs: list[int]) -> list[bytes]:
    """The leaves at `seqs` (newest first), one range read per run of consecutive entries."""
    leaves: list[bytes] = []
    i = 0
    while i < len(seqs):
        j = i
        while j + 1 < len(seqs) and seqs[j + 1] == seqs[j] - 1:
            j += 1
        leaves += reversed(store.leaves(seqs[j], j - i + 1))
        i = j + 1
    return leaves
