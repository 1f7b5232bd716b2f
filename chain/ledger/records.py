"""The ledger's state records: what its reading of the log holds of parties, contracts, artefacts and runs.

Plain data, built and changed only by the admission rules (`chain/ledger/rules/`); the views turn them into the
API's models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from schemas.api import ContractState, PartyView, RunView
from schemas.contract import Contract


class Party(PartyView):
    """A registered party: what the API shows of it, and the key its identity keeps through rotations."""

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


class Run(RunView):
    """A clean-room run: the ledger records exactly what the API shows (`schemas.api.RunView`)."""
