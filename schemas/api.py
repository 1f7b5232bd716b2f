"""The public models of the HTTP API: what the ledger sends and its parties read.

Plain pydantic with no server imports; the ledger builds them from its records (`chain/ledger/views.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from schemas.lineage import Direction, Edge, Graph, Node
from schemas.statement import Segment

ContractState = Literal["pending", "active", "closed"]


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
    """A registered party; the ledger's own record of it (`chain/ledger/records.py`) is this and its stable key."""

    did: str
    name: str
    roles: list[str]
    x25519: str
    aliases: list[str]
    former_dids: list[str] = []
    registered_seq: int
    registered_at: datetime
    revoked_at: datetime | None = None
    revoke_reason: str | None = None


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


class LineageEdge(BaseModel):
    """The child was derived from the parent."""

    parent: str
    child: str


class Lineage(BaseModel):
    root: str
    direction: Direction
    artefacts: list[ArtefactView]
    edges: list[LineageEdge]

    def graph(self) -> Graph:
        """The same artefacts and links as a lineage graph, as the auditor draws them."""
        nodes = [Node(id=a.digest, kind="artefact", label=f"{a.name} ({a.kind})", seq=a.seq) for a in self.artefacts]
        edges = [Edge(source=e.child, target=e.parent, relation="derived_from") for e in self.edges]
        return Graph(root=self.root, nodes=nodes, edges=edges)


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


class BudgetView(BaseModel):
    contract_id: str
    datasets: list[DatasetBudgetView]


class RunView(BaseModel):
    """A clean-room run as the log tells it, from its attestation on; the ledger's record of it is this."""

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
    base_model: str | None = None
    outputs: tuple[str, ...] = ()
    status: str | None = None
    reason: str | None = None
    reservations: dict[str, int] = {}  # dataset -> seq of its budget.reserve
    commits: dict[str, int] = {}
    releases: dict[str, int] = {}  # dataset -> seq of its key.release
