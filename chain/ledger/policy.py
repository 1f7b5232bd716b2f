"""The registration policy of DESIGN section 3: who may write what, and the state it builds.

`Registry` is the ledger's reading of its own log (parties, contracts, artefacts). `admit`
raises a typed error for a statement the log must refuse; `apply` records an admitted one.
Both are pure: the ledger replays its log through `apply` on start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chain.ledger.records import Artefact, ContractRecord, Party, Run, Signature
from chain.ledger.run_policy import History, RunRules
from privacy.budget import DatasetBudget, Draw, SourceBudget, delta_limit
from schemas import statement as s
from schemas.contract import Contract, Dataset, contract_id
from schemas.errors import BudgetExceeded, Conflict, NotAllowed, NotFound, Unprocessable


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
    sources: dict[str, SourceBudget] = field(default_factory=dict)  # dataset artefact -> its cap across contracts
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
        RULES[st.kind][0](self, st, st.body, now)

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
        for d in c.datasets:
            self._check_source(c, d)
        self._check_draws(cid, c, c.named_parties())

    def _check_source(self, c: Contract, d: Dataset) -> None:
        """A dataset's source is its provider's registered data; its record count bounds the contract's delta."""
        if d.source is None:
            return
        art = self.artefacts.get(d.source)
        if art is None or art.kind != "dataset" or art.produced_by is not None:
            raise Unprocessable(f"dataset {d.id}'s source {d.source} is not a registered provider dataset")
        provider = self.resolve(d.provider)
        if provider is None or self._owner_key(d.source) != provider.key:
            raise Unprocessable(f"dataset {d.id}'s source {d.source} was registered by another party than its provider")
        cap = c.privacy_cap(d.id)
        source = self.sources.get(d.source)
        if cap is None and source is not None and source.capped:
            raise Unprocessable(
                f"dataset {d.id}'s source {art.name} is capped by its provider: the contract caps its privacy too",
                remedy="add a privacy constraint on the dataset",
            )
        large = cap is not None and art.records is not None and cap.delta > delta_limit(art.records)
        if large and not cap.allow_large_delta:  # type: ignore[union-attr]
            raise Unprocessable(
                f"delta {cap.delta:g} on {d.id} is over 1/(10 n) = {delta_limit(art.records):.3g} for the"
                f" {art.records} records of {art.name}",
                remedy="lower the delta, or set allow_large_delta in the privacy constraint",
            )

    def _owner_key(self, digest: str) -> str:
        """The stable key of the party that registered a (registered) artefact."""
        return self.parties[self.artefacts[digest].owner].key

    def _check_draws(self, cid: str, c: Contract, signers: Iterable[str]) -> None:
        """Refuse a contract whose draws, by the providers among `signers`, would take a source past its cap."""
        keys = {p.key for ref in signers if (p := self.resolve(ref)) is not None}
        for source_digest, draws in self._draws(cid, c, keys).items():
            source = self.sources.get(source_digest, SourceBudget())
            if not source.fits(draws.values()):
                eps, delta = source.drawn()
                want_eps, want_delta = source.drawn(draws.values())
                raise BudgetExceeded(
                    f"contract {cid} would draw epsilon {want_eps - eps:g}, delta {want_delta - delta:g} from"
                    f" {self.artefacts[source_digest].name}, whose cap across contracts is epsilon {source.epsilon:g},"
                    f" delta {source.delta:g}, of which contracts already draw {eps:g} and {delta:g}",
                    remedy="lower the contract's privacy caps on the dataset, or ask its provider for a new dataset",
                    cap=source.epsilon,
                    delta=source.delta,
                    committed_epsilon=eps,
                    composed_epsilon=eps,
                    remaining_epsilon=max(0.0, source.epsilon - eps),  # type: ignore[operator]
                    requested_epsilon=want_eps - eps,
                )

    def _draws(self, cid: str, c: Contract, provider_keys: set[str]) -> dict[str, dict[tuple[str, str], Draw]]:
        """What a contract draws from each source whose owner is among `provider_keys`: (ε, δ) per dataset label."""
        found: dict[str, dict[tuple[str, str], Draw]] = {}
        for d in c.datasets:
            cap = c.privacy_cap(d.id)
            if d.source is None or cap is None or self._owner_key(d.source) not in provider_keys:
                continue
            found.setdefault(d.source, {})[(cid, d.id)] = (cap.epsilon_threshold, cap.delta)
        return found

    def _admit_contract_sign(self, st: s.Statement, body: s.ContractSign, now: datetime) -> None:
        record = self.contract(body.contract_id)
        signer = self.active_signer(st.iss)
        if signer.key not in {p.key for p in record.named.values()}:
            raise NotAllowed(f"{signer.name} is not named in contract {record.id}")
        if record.state(now) == "closed":
            raise Conflict(f"contract {record.id} is closed")
        if signer.key in record.signatures:
            raise Conflict(f"{signer.name} already signed contract {record.id}")
        self._check_draws(record.id, record.contract, [signer.did])

    def _admit_contract_revoke(self, st: s.Statement, body: s.ContractRevoke, now: datetime) -> None:
        record = self.contract(body.contract_id)
        if st.iss != self.operator:
            signer = self.active_signer(st.iss)
            if signer.key not in {p.key for p in record.named.values()}:
                raise NotAllowed("contract.revoke is signed by a named party or the operator")
        if record.revoked_at is not None:
            raise Conflict(f"contract {record.id} is already revoked")

    def _admit_dataset_cap(self, st: s.Statement, body: s.DatasetCap, now: datetime) -> None:
        art = self.artefacts.get(body.dataset)
        if art is None:
            raise NotFound(f"no artefact {body.dataset}")
        if art.kind != "dataset" or art.produced_by is not None:
            raise Unprocessable(f"{art.name} is not a provider's dataset; only a dataset carries a cap")
        signer = self.active_signer(st.iss)
        if signer.key != self._owner_key(body.dataset):
            raise NotAllowed(f"the cap on {art.name} is set by the party that registered it")
        source = self.sources.get(body.dataset, SourceBudget())
        if source.capped:
            raise Conflict(f"{art.name} is already capped at epsilon {source.epsilon:g}: a cap is set once")
        if art.records is not None and body.delta > delta_limit(art.records):
            raise Unprocessable(
                f"delta {body.delta:g} is over 1/(10 n) = {delta_limit(art.records):.3g} for the {art.records} records"
                f" of {art.name}"
            )
        if source.uncapped:
            raise Unprocessable(f"signed contracts use {art.name} with no privacy cap: {', '.join(source.uncapped)}")
        eps, delta = source.drawn()
        if eps > body.epsilon or delta > body.delta:
            raise BudgetExceeded(
                f"signed contracts already draw epsilon {eps:g}, delta {delta:g} from {art.name}: more than this cap",
                cap=body.epsilon, delta=body.delta, committed_epsilon=eps, composed_epsilon=eps,
                remaining_epsilon=0.0, requested_epsilon=0.0,
            )  # fmt: skip

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
        RULES[st.kind][1](self, st, st.body, seq, logged_at)

    def _apply_party_register(self, st: s.Statement, b: s.PartyRegister, seq: int, at: datetime) -> None:
        party = Party(
            did=b.did,
            name=b.name,
            roles=list(b.roles),
            x25519=b.x25519,
            aliases=list(b.aliases or []),
            registered_seq=seq,
            registered_at=at,
        )
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
        record = self.contracts[b.contract_id]
        record.signatures[party.key] = Signature(st.iss, seq, at)
        self._note_draws(record, party)

    def _note_draws(self, record: ContractRecord, party: Party) -> None:
        """The party's signature draws the contract's caps from the sources it provides."""
        for source, draws in self._draws(record.id, record.contract, {party.key}).items():
            self.sources.setdefault(source, SourceBudget()).draws.update(draws)
        for d in record.contract.datasets:
            owned = d.source is not None and self._owner_key(d.source) == party.key
            if owned and record.contract.privacy_cap(d.id) is None:
                self.sources.setdefault(d.source, SourceBudget()).uncapped.append(record.id)  # type: ignore[arg-type]

    def _apply_dataset_cap(self, st: s.Statement, b: s.DatasetCap, seq: int, at: datetime) -> None:
        source = self.sources.setdefault(b.dataset, SourceBudget())
        source.epsilon, source.delta = b.epsilon, b.delta

    def _apply_contract_revoke(self, st: s.Statement, b: s.ContractRevoke, seq: int, at: datetime) -> None:
        record = self.contracts[b.contract_id]
        record.revoked_at, record.revoked_by, record.revoke_reason = at, st.iss, b.reason

    def _apply_artefact_register(self, st: s.Statement, b: s.ArtefactRegister, seq: int, at: datetime) -> None:
        parents = tuple(b.derived_from or ())
        self.artefacts[b.digest] = Artefact(
            b.digest, b.name, b.kind, b.format, b.size, b.encrypted_digest, parents,
            b.produced_by, b.contract_id, st.iss, seq, at, b.records,
        )  # fmt: skip
        for parent in parents:
            self.derived[parent] = (*self.derived.get(parent, ()), b.digest)


Admit = Callable[[Registry, s.Statement, Any, datetime], None]
Apply = Callable[[Registry, s.Statement, Any, int, datetime], None]

# Each statement type's admission rule and state change; a test holds it to every type the schema knows.
RULES: dict[str, tuple[Admit, Apply]] = {
    "party.register": (Registry._admit_party_register, Registry._apply_party_register),
    "party.rotate": (Registry._admit_party_rotate, Registry._apply_party_rotate),
    "party.revoke": (Registry._admit_party_revoke, Registry._apply_party_revoke),
    "contract.propose": (Registry._admit_contract_propose, Registry._apply_contract_propose),
    "contract.sign": (Registry._admit_contract_sign, Registry._apply_contract_sign),
    "contract.revoke": (Registry._admit_contract_revoke, Registry._apply_contract_revoke),
    "artefact.register": (Registry._admit_artefact_register, Registry._apply_artefact_register),
    "dataset.cap": (Registry._admit_dataset_cap, Registry._apply_dataset_cap),
    "attestation.report": (Registry._admit_attestation_report, Registry._apply_attestation_report),
    "run.start": (Registry._admit_run_start, Registry._apply_run_start),
    "run.complete": (Registry._admit_run_complete, Registry._apply_run_complete),
    "budget.reserve": (Registry._admit_budget_reserve, Registry._apply_budget_reserve),
    "budget.commit": (Registry._admit_budget_commit, Registry._apply_budget_commit),
    "budget.abort": (Registry._admit_budget_abort, Registry._apply_budget_abort),
    "key.release": (Registry._admit_key_release, Registry._apply_key_release),
}
