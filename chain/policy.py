"""The registration policy of DESIGN section 3: who may write what, and the state it builds.

`Registry` is the ledger's reading of its own log (parties, contracts, artefacts). `admit`
raises a typed error for a statement the log must refuse; `apply` records an admitted one.
Both are pure: the ledger replays its log through `apply` on start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from chain.budget import DatasetBudget
from chain.run_policy import History, Run, RunRules
from schemas import statement as s
from schemas.contract import Contract, contract_id
from schemas.errors import Conflict, NotAllowed, NotFound, Unprocessable

ContractState = Literal["pending", "active", "closed"]


@dataclass
class Party:
    did: str
    name: str
    roles: list[str]
    x25519: str
    aliases: list[str]
    registered_seq: int
    registered_at: datetime
    former_dids: list[str] = field(default_factory=list)
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    @property
    def key(self) -> str:
        """A stable identity that survives rotation: the first DID."""
        return self.former_dids[0] if self.former_dids else self.did


@dataclass
class Signature:
    did: str
    seq: int
    logged_at: datetime


@dataclass
class ContractRecord:
    id: str
    contract: Contract
    proposer: str
    proposed_seq: int
    proposed_at: datetime
    named: dict[str, Party]
    raw: dict[str, Any]
    signatures: dict[str, Signature] = field(default_factory=dict)
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    def unsigned(self) -> list[str]:
        return [ref for ref, p in self.named.items() if p.key not in self.signatures]

    def activated_at(self) -> datetime | None:
        """When the last signature landed, or startTime if that is later."""
        if self.unsigned():
            return None
        return max(max(sig.logged_at for sig in self.signatures.values()), self.contract.startTime)

    def closed_at(self) -> datetime:
        return min(self.revoked_at or self.contract.expiryTime, self.contract.expiryTime)

    def state(self, at: datetime) -> ContractState:
        if at >= self.closed_at():
            return "closed"
        activated = self.activated_at()
        return "active" if activated is not None and at >= activated else "pending"


class Artefact(NamedTuple):
    """One registered artefact. A tuple of plain values: the garbage collector skips it, so a
    registry of millions of artefacts adds nothing to its pauses."""

    digest: str
    name: str
    kind: str
    format: str | None
    size: int | None
    encrypted_digest: str | None
    derived_from: tuple[str, ...]
    produced_by: str | None
    contract_id: str | None
    owner: str
    seq: int
    logged_at: datetime


@dataclass
class Registry(RunRules):
    operator: str
    parties: dict[str, Party] = field(default_factory=dict)  # every DID a party ever had
    aliases: dict[str, Party] = field(default_factory=dict)
    names: dict[str, Party] = field(default_factory=dict)
    contracts: dict[str, ContractRecord] = field(default_factory=dict)
    artefacts: dict[str, Artefact] = field(default_factory=dict)
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)  # parent -> children
    runs: dict[str, Run] = field(default_factory=dict)
    agents: dict[str, str] = field(default_factory=dict)  # receipt key an attested run bound -> its contract
    budgets: dict[tuple[str, str], DatasetBudget] = field(default_factory=dict)
    history: History | None = None  # set by the ledger: admission checks nonces against the log

    def resolve(self, ref: str) -> Party | None:
        """The party a contract names, by any DID it had or by alias."""
        return self.parties.get(ref) or self.aliases.get(ref)

    def active_signer(self, did: str) -> Party:
        party = self.parties.get(did)
        if party is None:
            raise NotAllowed(f"{did} is not a registered party")
        if party.revoked_at is not None:
            raise NotAllowed(f"{party.name} ({did}) was revoked")
        if party.did != did:
            raise NotAllowed(f"{did} was rotated to {party.did}; sign with the new key")
        return party

    def contract(self, contract_id: str) -> ContractRecord:
        record = self.contracts.get(contract_id)
        if record is None:
            raise NotFound(f"no contract {contract_id}")
        return record

    def current_parties(self) -> list[Party]:
        unique = {id(p): p for p in self.parties.values()}
        return sorted(unique.values(), key=lambda p: p.registered_seq)

    # --- admission -------------------------------------------------------------------

    def admit(self, st: s.Statement, now: datetime) -> None:
        """Raise the error that refuses `st` at time `now`, or return if the log takes it."""
        self._known_signer(st)
        getattr(self, "_admit_" + st.kind.replace(".", "_"))(st, st.body, now)

    def _known_signer(self, st: s.Statement) -> None:
        """The cheap check first: only an attestation introduces a new key; every other statement is signed by
        the operator, a party or an attested run, so a stranger's statement is refused before its body is read."""
        if st.kind == "attestation.report" or st.iss == self.operator or st.iss in self.parties:
            return
        if st.iss not in self.agents:
            raise NotAllowed(f"{st.iss} is not the operator, a registered party or an attested run's key")

    def _require_operator(self, st: s.Statement) -> None:
        if st.iss != self.operator:
            raise NotAllowed(f"{s.typ_of(st.kind)} must be signed by the operator {self.operator}")

    def _taken(self, ref: str) -> str | None:
        """Who already answers to `ref`: names, aliases and DIDs are one namespace, the operator's DID included."""
        if ref == self.operator:
            return "the operator"
        found = self.parties.get(ref) or self.aliases.get(ref) or self.names.get(ref)
        return found.name if found is not None else None

    def _admit_party_register(self, st: s.Statement, body: s.PartyRegister, now: datetime) -> None:
        self._require_operator(st)
        if body.did in self.parties:
            raise Conflict(f"{body.did} is already registered")
        refs = [body.did, body.name, *(body.aliases or [])]
        if len(set(refs)) != len(refs):
            raise Unprocessable("a party's DID, name and aliases are all different")
        for ref in refs:
            holder = self._taken(ref)
            if holder is not None:
                raise Conflict(f"{ref} already names {holder}; a party's DID, name and aliases name nobody else")

    def _admit_party_rotate(self, st: s.Statement, body: s.PartyRotate, now: datetime) -> None:
        party = self.parties.get(body.did)
        if party is None:
            raise NotFound(f"no party {body.did}")
        if st.iss != self.operator and st.iss != party.did:
            raise NotAllowed("party.rotate is signed by the operator or by the party's current key")
        self.active_signer(body.did)
        holder = self._taken(body.new_did)
        if holder is not None:
            raise Conflict(f"{body.new_did} already names {holder}")

    def _admit_party_revoke(self, st: s.Statement, body: s.PartyRevoke, now: datetime) -> None:
        self._require_operator(st)
        party = self.parties.get(body.did)
        if party is None:
            raise NotFound(f"no party {body.did}")
        if party.revoked_at is not None:
            raise Conflict(f"{party.name} is already revoked")

    def _admit_contract_propose(self, st: s.Statement, body: s.ContractPropose, now: datetime) -> None:
        cid = contract_id(st.raw["body"]["contract"])
        if cid in self.contracts:
            raise Conflict(f"contract {cid} was already proposed")
        c = body.contract
        missing = c.missing_parties(lambda ref: self.resolve(ref) is not None)
        if missing:
            raise Unprocessable("contract parties are not resolved: " + "; ".join(missing))
        for ref, role in c.named_parties().items():
            party = self.resolve(ref)
            assert party is not None
            if role not in party.roles:
                raise Unprocessable(f"{ref} ({party.name}) is named as {role} but lacks that role")
            if party.revoked_at is not None:
                raise Unprocessable(f"{ref} ({party.name}) was revoked")
        proposer = self.active_signer(st.iss)
        if proposer.key not in {self.resolve(ref).key for ref in c.named_parties()}:  # type: ignore[union-attr]
            raise NotAllowed(f"{proposer.name} is not named in the contract it proposes")
        for did in c.recipients:
            if self.resolve(did) is None:
                raise Unprocessable(f"output recipient {did} is not a registered party")

    def _admit_contract_sign(self, st: s.Statement, body: s.ContractSign, now: datetime) -> None:
        record = self.contract(body.contract_id)
        signer = self.active_signer(st.iss)
        if signer.key not in {p.key for p in record.named.values()}:
            raise NotAllowed(f"{signer.name} is not named in contract {record.id}")
        if record.state(now) == "closed":
            raise Conflict(f"contract {record.id} is closed")
        if signer.key in record.signatures:
            raise Conflict(f"{signer.name} already signed contract {record.id}")

    def _admit_contract_revoke(self, st: s.Statement, body: s.ContractRevoke, now: datetime) -> None:
        record = self.contract(body.contract_id)
        if st.iss != self.operator:
            signer = self.active_signer(st.iss)
            if signer.key not in {p.key for p in record.named.values()}:
                raise NotAllowed("contract.revoke is signed by a named party or the operator")
        if record.revoked_at is not None:
            raise Conflict(f"contract {record.id} is already revoked")

    def _admit_artefact_register(self, st: s.Statement, body: s.ArtefactRegister, now: datetime) -> None:
        if body.digest in self.artefacts:
            raise Conflict(f"artefact {body.digest} is already registered")
        if body.produced_by is not None:
            self._admit_output(st, body, now)
            return
        signer = self.active_signer(st.iss)
        missing = [d for d in body.derived_from or [] if d not in self.artefacts]
        if missing:
            raise Unprocessable(f"derived_from names unregistered artefacts: {', '.join(missing)}")
        if body.contract_id is not None:
            record = self.contract(body.contract_id)
            if signer.key not in {p.key for p in record.named.values()}:
                raise NotAllowed(f"{signer.name} is not named in contract {record.id}")

    # --- state -----------------------------------------------------------------------

    def apply(self, st: s.Statement, seq: int, logged_at: datetime) -> None:
        """Record an admitted statement (or replay one from the log)."""
        getattr(self, "_apply_" + st.kind.replace(".", "_"))(st, st.body, seq, logged_at)

    def _apply_party_register(self, st: s.Statement, b: s.PartyRegister, seq: int, at: datetime) -> None:
        party = Party(b.did, b.name, list(b.roles), b.x25519, list(b.aliases or []), seq, at)
        self.parties[b.did] = party
        self.names[b.name] = party
        for alias in party.aliases:
            self.aliases[alias] = party

    def _apply_party_rotate(self, st: s.Statement, b: s.PartyRotate, seq: int, at: datetime) -> None:
        party = self.parties[b.did]
        party.former_dids.append(party.did)
        party.did = b.new_did
        self.parties[b.new_did] = party

    def _apply_party_revoke(self, st: s.Statement, b: s.PartyRevoke, seq: int, at: datetime) -> None:
        party = self.parties[b.did]
        party.revoked_at, party.revoke_reason = at, b.reason

    def _apply_contract_propose(self, st: s.Statement, b: s.ContractPropose, seq: int, at: datetime) -> None:
        named = {ref: self.resolve(ref) for ref in b.contract.named_parties()}
        raw = st.raw["body"]["contract"]
        cid = contract_id(raw)
        self.contracts[cid] = ContractRecord(cid, b.contract, st.iss, seq, at, named, raw)  # type: ignore[arg-type]

    def _apply_contract_sign(self, st: s.Statement, b: s.ContractSign, seq: int, at: datetime) -> None:
        party = self.parties[st.iss]
        self.contracts[b.contract_id].signatures[party.key] = Signature(st.iss, seq, at)

    def _apply_contract_revoke(self, st: s.Statement, b: s.ContractRevoke, seq: int, at: datetime) -> None:
        record = self.contracts[b.contract_id]
        record.revoked_at, record.revoked_by, record.revoke_reason = at, st.iss, b.reason

    def _apply_artefact_register(self, st: s.Statement, b: s.ArtefactRegister, seq: int, at: datetime) -> None:
        parents = tuple(b.derived_from or ())
        self.artefacts[b.digest] = Artefact(
            b.digest, b.name, b.kind, b.format, b.size, b.encrypted_digest, parents,
            b.produced_by, b.contract_id, st.iss, seq, at,
        )  # fmt: skip
        for parent in parents:
            self.derived[parent] = (*self.derived.get(parent, ()), b.digest)
