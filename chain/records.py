"""The ledger's state records: what its reading of the log holds of parties, contracts, artefacts and runs.

Plain data, built and changed only by the admission rules (`chain/policy.py`, `chain/run_policy.py`); the views
turn them into the API's models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from schemas.contract import Contract

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
    records: int | None = None


@dataclass
class Run:
    """A clean-room run as the log tells it, from its attestation on."""

    run_id: str
    contract_id: str
    agent: str
    x25519: str
    attestation: str
    attestation_seq: int
    security: str
    logged_at: datetime
    start_seq: int | None = None
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    status: str | None = None
    reason: str | None = None
    reservations: dict[str, int] = field(default_factory=dict)  # dataset -> seq of its budget.reserve
    commits: dict[str, int] = field(default_factory=dict)
    releases: dict[str, int] = field(default_factory=dict)  # dataset -> seq of its key.release
