"""The collaboration re-derived from signed statements alone, with its own reading of docs/design.md, flows.

Deliberately not the ledger's policy code: an auditor that reused it would inherit its bugs. Each statement is
checked for its signature and for whether its signer could sign it at that point of the log; what it says is
recorded for the contract, run and budget checks (auditor/checks.py).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from auditor.signatures import ParallelVerifier
from chain.tlog import merkle
from chain.tlog.entry import Entry
from schemas import statement as s
from schemas.contract import Contract, PrivacyConstraint, contract_id
from schemas.errors import DepaError, NotFound


@dataclass
class Party:
    name: str
    roles: list[str]
    x25519: str
    dids: list[str]  # first to current
    aliases: list[str]
    revoked_at: datetime | None = None

    @property
    def did(self) -> str:
        return self.dids[-1]


@dataclass
class ContractState:
    contract: Contract
    proposed_seq: int
    signed: dict[str, datetime] = field(default_factory=dict)  # party's first DID -> when it signed
    revoked_at: datetime | None = None


@dataclass
class Logged:
    seq: int
    at: datetime
    statement: s.Statement

    @property
    def body(self) -> Any:
        """The statement's body. Its kind fixes its type (schemas.statement.BODIES); the auditor dispatches on the
        kind, which a type checker cannot narrow the body's union by."""
        return self.statement.body


class Artefact(NamedTuple):
    """What the checks need of a registration; a tuple, so a million of them stay small."""

    seq: int
    iss: str
    name: str
    kind: str
    contract_id: str | None
    produced_by: str | None
    derived_from: tuple[str, ...]
    encrypted_digest: str | None


class ArtefactIndex:
    """Every registration, packed (about 200 bytes each, where tuples of Python objects took over 400).

    Keys are the 32 digest bytes; values a small bytes record (seq, kind, signer, contract, name), with the rare
    lineage fields (produced_by, derived_from, encrypted_digest) kept apart for the artefacts that have them."""

    _HEAD = struct.Struct("<IBII")  # seq, kind, signer, contract (codes into the shared strings)

    def __init__(self) -> None:
        self._packed: dict[bytes, bytes] = {}
        self._extra: dict[bytes, tuple[str | None, tuple[str, ...], str | None]] = {}
        self._strings: list[str] = []
        self._index: dict[str, int] = {}

    def _code(self, text: str | None) -> int:
        if text is None:
            return 0
        if text not in self._index:
            self._strings.append(text)
            self._index[text] = len(self._strings)
        return self._index[text]

    def _text(self, code: int) -> str | None:
        return self._strings[code - 1] if code else None

    @staticmethod
    def _key(digest: str) -> bytes | None:
        try:
            return bytes.fromhex(digest[7:]) if digest.startswith("sha256:") and len(digest) == 71 else None
        except ValueError:
            return None

    def add(self, digest: str, art: Artefact) -> None:
        key = self._key(digest)
        if key is None or key in self._packed:
            return
        head = self._HEAD.pack(art.seq, self._code(art.kind), self._code(art.iss), self._code(art.contract_id))
        self._packed[key] = head + art.name.encode()
        if art.produced_by or art.derived_from or art.encrypted_digest:
            self._extra[key] = (art.produced_by, art.derived_from, art.encrypted_digest)

    def _unpack(self, key: bytes) -> Artefact:
        record = self._packed[key]
        seq, kind, iss, contract = self._HEAD.unpack_from(record)
        produced_by, derived_from, encrypted = self._extra.get(key, (None, (), None))
        name = record[self._HEAD.size :].decode()
        return Artefact(
            seq,
            self._text(iss) or "",
            name,
            self._text(kind) or "",
            self._text(contract),
            produced_by,
            derived_from,
            encrypted,
        )

    def get(self, digest: str) -> Artefact | None:
        key = self._key(digest)
        return self._unpack(key) if key is not None and key in self._packed else None

    def __getitem__(self, digest: str) -> Artefact:
        found = self.get(digest)
        if found is None:
            raise KeyError(digest)
        return found

    def __contains__(self, digest: object) -> bool:
        return isinstance(digest, str) and (key := self._key(digest)) is not None and key in self._packed

    def __len__(self) -> int:
        return len(self._packed)

    def __iter__(self) -> Iterator[str]:
        return ("sha256:" + key.hex() for key in self._packed)

    def items(self) -> Iterator[tuple[str, Artefact]]:
        for key in self._packed:
            yield "sha256:" + key.hex(), self._unpack(key)


@dataclass
class RunState:
    attestation: Logged
    start: Logged | None = None
    complete: Logged | None = None
    reserves: dict[str, list[Logged]] = field(default_factory=dict)
    commits: dict[str, Logged] = field(default_factory=dict)
    aborts: dict[str, Logged] = field(default_factory=dict)
    releases: dict[str, Logged] = field(default_factory=dict)
    outputs: list[Logged] = field(default_factory=list)

    @property
    def body(self) -> s.AttestationReport:
        return self.attestation.body


@dataclass
class Refusal:
    """A statement the log holds that it should not: its signature, or its signer's right to sign it."""

    seq: int
    kind: str
    reason: str
    run_id: str | None = None
    contract_id: str | None = None


@dataclass
class World:
    operator: str
    parties: dict[str, Party] = field(default_factory=dict)  # every DID and alias -> party
    contracts: dict[str, ContractState] = field(default_factory=dict)
    runs: dict[str, RunState] = field(default_factory=dict)
    artefacts: ArtefactIndex = field(default_factory=ArtefactIndex)
    children: dict[str, list[str]] = field(default_factory=dict)  # parent digest -> what derives from it
    budget_events: list[Logged] = field(default_factory=list)  # reserve, commit and abort, in log order
    caps: dict[str, Logged] = field(default_factory=dict)  # dataset digest -> its provider's dataset.cap
    records: dict[str, int] = field(default_factory=dict)  # dataset digest -> the record count its provider declared
    refusals: list[Refusal] = field(default_factory=list)
    statements: int = 0
    verifier: ParallelVerifier | None = None  # signatures checked elsewhere; the caller replays again if any fails
    roots: bytearray = field(default_factory=bytearray)  # the root at each size from 1 on, filled by check_log
    times: array = field(default_factory=lambda: array("d"))  # each entry's logged_at, POSIX seconds

    def root_at(self, size: int, before: int) -> bytes | None:
        """The log's root at `size`, for a nonce in entry `before` (which cannot name a later checkpoint)."""
        if size == 0:
            return merkle.EMPTY_ROOT
        if not 0 < size <= min(before, len(self.roots) // 32):
            return None
        return bytes(self.roots[32 * (size - 1) : 32 * size])

    def superseded_at(self, size: int, before: int) -> datetime | None:
        return datetime.fromtimestamp(self.times[size], UTC) if size < min(before, len(self.times)) else None

    def add(self, e: Entry, signed: bytes | None = None) -> None:
        """One entry, in log order; `signed` (the bytes its signature covers) spares recomputing them."""
        self.times.extend([0.0] * (e.seq - len(self.times)))  # an unreadable entry: its time fails every window
        self.times.append(e.logged_at.timestamp())
        if not self.operator:
            self.operator = str(e.statement.get("iss", ""))  # trust on first use, unless pinned
        try:
            st = s.from_raw(e.statement, signed)
            if self.verifier is None:
                st.verify()
            else:
                self.verifier.submit(e.seq, st.iss, st.signed_bytes, st.raw["sig"])
        except DepaError as exc:
            kind = str(e.statement.get("typ", "?"))
            self.refusals.append(Refusal(e.seq, kind, f"unreadable or badly signed: {exc.detail}"))
            return
        self.statements += 1
        logged = Logged(e.seq, e.logged_at, st)
        reason = _admit(self, logged)
        if reason is not None:
            body = st.body
            run_id = getattr(body, "run_id", None) or getattr(body, "produced_by", None)
            self.refusals.append(Refusal(e.seq, st.kind, reason, run_id, getattr(body, "contract_id", None)))
            return
        _record(self, logged)

    def capped(self, contract_id: str) -> list[tuple[PrivacyConstraint, list[Logged]]]:
        """Each dataset the contract caps, with its reserve, commit and abort statements in log order."""
        state = self.contracts.get(contract_id)
        if state is None:
            raise NotFound(f"no contract {contract_id} in the log")
        capped = []
        for cap in state.contract.privacy():
            bodies = ((e, e.body) for e in self.budget_events)
            capped.append((cap, [e for e, b in bodies if b.contract_id == contract_id and b.dataset == cap.dataset]))
        return capped

    def party(self, ref: str) -> Party | None:
        return self.parties.get(ref)

    def current(self, did: str) -> Party | None:
        """The party whose current, unrevoked key this is."""
        party = self.parties.get(did)
        return party if party and party.did == did and party.revoked_at is None else None


def replay(entries: Iterable[Entry], operator: str | None = None) -> World:
    """Every entry in order. The operator is the signer of the first entry unless pinned."""
    world = World(operator or "")
    for e in entries:
        world.add(e)
    return world


def _admit(w: World, logged: Logged) -> str | None:
    """Why this signer could not sign this statement here, or None."""
    st, b = logged.statement, logged.body
    if st.kind in ("party.register", "party.revoke"):
        return None if st.iss == w.operator else f"{st.kind} is the operator's; {st.iss} is not the operator"
    if st.kind == "party.rotate":
        party = w.party(b.did)
        ok = party is not None and (st.iss == w.operator or st.iss == party.did)
        return None if ok else "a rotation is signed by the operator or the party's current key"
    if st.kind == "contract.propose":
        signer = w.current(st.iss)
        named = {p.dids[0] for ref in b.contract.named_parties() if (p := w.party(ref))}
        miscast = [
            ref for ref, role in b.contract.named_parties().items() if (p := w.party(ref)) and role not in p.roles
        ]
        if miscast:
            return f"the contract names {', '.join(miscast)} in roles they were not registered for"
        return None if signer and signer.dids[0] in named else f"{st.iss} is not a current party named in the contract"
    if st.kind in ("contract.sign", "contract.revoke"):
        state = w.contracts.get(b.contract_id)
        if state is None:
            return f"no contract {b.contract_id} was proposed"
        signer = w.current(st.iss)
        named = {p.dids[0] for ref in state.contract.named_parties() if (p := w.party(ref))}
        if st.kind == "contract.revoke" and st.iss == w.operator:
            return None
        return None if signer and signer.dids[0] in named else f"{st.iss} is not a current party named in the contract"
    if st.kind == "artefact.register":
        if b.produced_by is None:
            return None if w.current(st.iss) else f"{st.iss} is not a registered, unrevoked party"
        run = w.runs.get(b.produced_by)
        return None if run and run.attestation.statement.iss == st.iss else "an output is registered by its run's agent"
    if st.kind == "dataset.cap":
        art = w.artefacts.get(b.dataset)
        owner = w.party(art.iss) if art is not None else None
        if owner is None or w.current(st.iss) is not owner:
            return f"the cap on {b.dataset} is set by the party that registered it, not by {st.iss}"
        return None if b.dataset not in w.caps else f"{b.dataset} was capped before; a cap is set once"
    if st.kind == "attestation.report":
        if st.iss != b.binding.receipt_key:
            return "an attestation is signed by the receipt key its binding names"
        return None if b.run_id not in w.runs else f"run {b.run_id} was attested before"
    if st.kind == "key.release":
        if b.run_id not in w.runs:
            return f"a key released to run {b.run_id}, which was never attested"
        state = w.contracts.get(b.contract_id)
        dataset = next((d for d in state.contract.datasets if d.id == b.dataset), None) if state else None
        provider = w.party(dataset.provider) if dataset else None
        ok = provider is not None and w.current(st.iss) is provider
        return None if ok else f"the key of {b.dataset} is released by its provider, not by {st.iss}"
    run = w.runs.get(b.run_id)  # run.*, budget.*: the agent bound in the run's attestation
    if run is None:
        return f"no attested run {b.run_id}"
    return None if st.iss == run.body.binding.receipt_key else f"{st.kind} is signed by run {b.run_id}'s agent"


def _record(w: World, logged: Logged) -> None:
    st, b = logged.statement, logged.body
    if st.kind == "party.register":
        party = Party(b.name, list(b.roles), b.x25519, [b.did], list(b.aliases or []))
        for ref in (b.did, *party.aliases):
            w.parties[ref] = party
    elif st.kind == "party.rotate":
        party = w.parties[b.did]
        party.dids.append(b.new_did)
        w.parties[b.new_did] = party
    elif st.kind == "party.revoke":
        if (revoked := w.parties.get(b.did)) is not None:
            revoked.revoked_at = logged.at
    elif st.kind == "contract.propose":
        w.contracts[contract_id(st.raw["body"]["contract"])] = ContractState(b.contract, logged.seq)
    elif st.kind == "contract.sign":
        w.contracts[b.contract_id].signed.setdefault(w.parties[st.iss].dids[0], logged.at)
    elif st.kind == "contract.revoke":
        state = w.contracts[b.contract_id]
        state.revoked_at = state.revoked_at or logged.at
    elif st.kind == "artefact.register":
        w.artefacts.add(
            b.digest,
            Artefact(
                logged.seq,
                st.iss,
                b.name,
                b.kind,
                b.contract_id,
                b.produced_by,
                tuple(b.derived_from or ()),
                b.encrypted_digest,
            ),
        )
        if b.records is not None:
            w.records.setdefault(b.digest, b.records)
        for parent in b.derived_from or ():
            w.children.setdefault(parent, []).append(b.digest)
        if b.produced_by is not None:
            w.runs[b.produced_by].outputs.append(logged)
    elif st.kind == "dataset.cap":
        w.caps[b.dataset] = logged
    elif st.kind == "attestation.report":
        w.runs[b.run_id] = RunState(logged)
    elif st.kind == "run.start":
        w.runs[b.run_id].start = w.runs[b.run_id].start or logged
    elif st.kind == "run.complete":
        w.runs[b.run_id].complete = w.runs[b.run_id].complete or logged
    elif st.kind == "key.release":
        w.runs[b.run_id].releases.setdefault(b.dataset, logged)
    elif st.kind.startswith("budget."):
        run = w.runs[b.run_id]
        {
            "budget.reserve": run.reserves.setdefault(b.dataset, []).append,
            "budget.commit": lambda x: run.commits.setdefault(b.dataset, x),
            "budget.abort": lambda x: run.aborts.setdefault(b.dataset, x),
        }[st.kind](logged)
        w.budget_events.append(logged)
