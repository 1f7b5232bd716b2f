"""The ledger's state: parties, contracts, artefacts, runs and budgets, with the lookups every family of rules shares.

Changed only by the rules' `apply` (`chain/ledger/rules/`); the ledger replays its log through them on start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from chain.ledger.records import Artefact, ContractRecord, Party, Run
from privacy.budget import DatasetBudget, SourceBudget
from schemas import statement as s
from schemas.errors import Conflict, NotAllowed, NotFound, Unprocessable


class History(Protocol):
    """The log an attestation's nonce names a checkpoint of (the ledger)."""

    def root_at(self, size: int) -> bytes | None: ...
    def superseded_at(self, size: int) -> datetime | None: ...


@dataclass
class State:
    """The ledger's reading of its log: what the admission rules check statements against and change."""

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

    def attested(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise NotFound(f"no attested run {run_id}")
        return run

    def run_of(self, st: s.Statement, run_id: str, now: datetime, contract_id: str | None = None) -> Run:
        """The run the statement speaks for, signed by its agent, under its still-active contract."""
        run = self.attested(run_id)
        if st.iss != run.agent:
            raise NotAllowed(f"statements of run {run_id} are signed by its attested agent key {run.agent}")
        if contract_id is not None and contract_id != run.contract_id:
            raise Unprocessable(f"run {run_id} runs under contract {run.contract_id}, not {contract_id}")
        if run.status is not None:
            raise Conflict(f"run {run_id} is already complete ({run.status})")
        state = self.contract(run.contract_id).state(now)
        if state != "active":
            raise Conflict(f"contract {run.contract_id} is {state}")
        return run

    def provider_key(self, record: ContractRecord, dataset: str) -> str:
        found = next((d for d in record.contract.datasets if d.id == dataset), None)
        if found is None:
            raise Unprocessable(f"contract {record.id} has no dataset {dataset}")
        party = self.resolve(found.provider)
        if party is None:
            raise Unprocessable(f"dataset {dataset} names provider {found.provider!r}, not a registered party")
        return party.key

    def owner_key(self, digest: str) -> str:
        """The stable key of the party that registered a (registered) artefact."""
        return self.parties[self.artefacts[digest].owner].key

    def taken(self, ref: str) -> str | None:
        """Who already answers to `ref`: names, aliases and DIDs are one namespace, the operator's DID included."""
        if ref == self.operator:
            return "the operator"
        found = self.parties.get(ref) or self.aliases.get(ref) or self.names.get(ref)
        return found.name if found is not None else None

    def require_operator(self, st: s.Statement) -> None:
        if st.iss != self.operator:
            raise NotAllowed(f"{s.typ_of(st.kind)} must be signed by the operator {self.operator}")

    def budget_of(self, contract_id: str, dataset: str) -> DatasetBudget:
        """The dataset's budget under the contract, made on first use from its privacy constraint."""
        key = (contract_id, dataset)
        if key not in self.budgets:
            record = self.contract(contract_id)
            if dataset not in {d.id for d in record.contract.datasets}:
                raise Unprocessable(f"contract {contract_id} has no dataset {dataset}")
            cap = record.contract.privacy_cap(dataset)
            if cap is None:
                raise Unprocessable(f"dataset {dataset} has no privacy cap in contract {contract_id}")
            self.budgets[key] = DatasetBudget(cap=cap.epsilon_threshold, delta=cap.delta)
        return self.budgets[key]

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
