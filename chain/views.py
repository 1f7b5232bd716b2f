"""What the ledger shows of its state: the public models of the HTTP API and the client."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from chain.records import Artefact, ContractRecord, ContractState, Party, Run
from schemas.statement import Segment

if TYPE_CHECKING:  # the accountant (numpy) stays out of the client, which reads these models
    from chain.budget import DatasetBudget, SourceBudget


class LogInfo(BaseModel):
    origin: str
    vkey: str
    operator: str
    size: int


class Readiness(BaseModel):
    ready: bool
    size: int
    sequencer_restarts: int


class PartyView(BaseModel):
    did: str
    name: str
    roles: list[str]
    x25519: str
    aliases: list[str]
    former_dids: list[str]
    registered_seq: int
    registered_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None

    @classmethod
    def of(cls, p: Party) -> PartyView:
        return cls(**{k: getattr(p, k) for k in cls.model_fields})


class SignatureView(BaseModel):
    party: str
    name: str
    did: str
    seq: int
    logged_at: datetime


class ContractView(BaseModel):
    id: str
    state: ContractState
    contract: dict[str, Any]
    proposer: str
    proposed_seq: int
    proposed_at: datetime
    signatures: list[SignatureView]
    unsigned: list[str]
    activated_at: datetime | None
    closed_at: datetime | None
    revoke_reason: str | None

    @classmethod
    def of(cls, r: ContractRecord, now: datetime) -> ContractView:
        by_key = {p.key: (ref, p) for ref, p in r.named.items()}
        state = r.state(now)
        return cls(
            id=r.id,
            state=state,
            contract=r.raw,
            proposer=r.proposer,
            proposed_seq=r.proposed_seq,
            proposed_at=r.proposed_at,
            signatures=[
                SignatureView(
                    party=by_key[k][0], name=by_key[k][1].name, did=sig.did, seq=sig.seq, logged_at=sig.logged_at
                )
                for k, sig in r.signatures.items()
            ],
            unsigned=r.unsigned(),
            activated_at=r.activated_at(),
            closed_at=r.closed_at() if state == "closed" else None,
            revoke_reason=r.revoke_reason,
        )


class SourceCapView(BaseModel):
    """A dataset's cap across contracts, set by its provider, and the sum the signed contracts draw from it."""

    epsilon: float
    delta: float
    drawn_epsilon: float
    drawn_delta: float


class ArtefactView(BaseModel):
    digest: str
    name: str
    kind: str
    format: str | None
    size: int | None
    encrypted_digest: str | None
    derived_from: list[str]
    derived: list[str]
    produced_by: str | None
    contract_id: str | None
    owner: str
    seq: int
    logged_at: datetime
    records: int | None = None
    cap: SourceCapView | None = None

    @classmethod
    def of(cls, a: Artefact, derived: tuple[str, ...], source: SourceBudget | None = None) -> ArtefactView:
        cap = None
        if source is not None and source.capped:
            eps, delta = source.drawn()
            cap = SourceCapView(epsilon=source.epsilon, delta=source.delta, drawn_epsilon=eps, drawn_delta=delta)  # type: ignore[arg-type]
        return cls(**a._asdict(), derived=list(derived), cap=cap)


Direction = Literal["up", "down", "both"]


class LineageEdge(BaseModel):
    parent: str
    child: str


class Lineage(BaseModel):
    root: str
    direction: Direction
    artefacts: list[ArtefactView]
    edges: list[LineageEdge]


class InclusionProof(BaseModel):
    seq: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(BaseModel):
    first: int
    second: int
    proof: list[str]


class DatasetBudgetView(BaseModel):
    """Epsilons at the contract's delta, as the dataset's RDP filter certifies them at its fixed order;
    `composed` is committed and reserved spend composed as RDP curves."""

    dataset: str
    cap: float
    delta: float
    filter_order: float
    committed_epsilon: float
    reserved_epsilon: float
    composed_epsilon: float
    remaining_epsilon: float
    reservations: list[str]
    committed_segments: list[Segment]
    reserved_segments: list[Segment]

    @classmethod
    def of(cls, dataset: str, b: DatasetBudget) -> DatasetBudgetView:
        from chain.budget import ORDERS

        committed, composed = b.committed_epsilon(), b.composed_epsilon()
        return cls(
            dataset=dataset, cap=b.cap, delta=b.delta, filter_order=ORDERS[b.order], committed_epsilon=committed,
            reserved_epsilon=composed - committed, composed_epsilon=composed, remaining_epsilon=b.remaining(),
            reservations=sorted(b.reserved), committed_segments=b.committed_segments,
            reserved_segments=[seg for segs in b.reserved_segments.values() for seg in segs],
        )  # fmt: skip


class BudgetView(BaseModel):
    contract_id: str
    datasets: list[DatasetBudgetView]


class RunView(BaseModel):
    run_id: str
    contract_id: str
    agent: str
    x25519: str
    attestation: str
    attestation_seq: int
    security: str
    logged_at: datetime
    start_seq: int | None
    inputs: list[str]
    outputs: list[str]
    status: str | None
    reason: str | None
    reservations: dict[str, int]
    commits: dict[str, int]
    releases: dict[str, int]

    @classmethod
    def of(cls, run: Run) -> RunView:
        return cls(**{k: getattr(run, k) for k in cls.model_fields})
