"""The auditor's own reading of the log (auditor.replay.World), kept current for lineage, budgets and audits.

The console shows what the auditor derives, not what the ledger's registry says: the lineage graph is the one
`depa-audit lineage` draws and the budget series replays the logged reservations and commits.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from pydantic import BaseModel

from auditor.accounting import replay
from auditor.lineage import lineage
from auditor.replay import World
from auditor.snapshot import Snapshot
from auditor.verify import AuditReport, audit
from chain.ledger.follower import Follower
from chain.ledger.store import Store
from chain.tlog import entry
from chain.tlog.checkpoint import Checkpoint, VerifierKey, parse_note
from privacy.budget import DatasetBudget
from schemas.lineage import Direction, Graph


class Admitted:
    """The signature hook of a World that takes the ledger's admission checks as given.

    Lineage and budget history are views, not verdicts: the ledger verified each signature before logging it,
    and the audit page (a World of its own) verifies every one again. Skipping them here makes the first view
    of a 100,000-entry log take seconds rather than tens of seconds.
    """

    def submit(self, seq: int, did: str, signed: bytes, sig: str) -> None:
        pass

    def failures(self) -> list[tuple[int, str]]:
        return []


class Replayed(Follower):
    """A World fed each new entry once; `world()` follows the store first."""

    def __init__(self, store: Store, operator: str, chunk: int = 1000) -> None:
        super().__init__(store, chunk)
        self._world = World(operator, verifier=Admitted())  # type: ignore[arg-type]

    def add(self, seq: int, leaf: bytes) -> None:
        logged = entry.decode(leaf)
        self._world.add(logged, entry.signed_bytes(leaf, logged))

    def world(self) -> World:
        self.follow()
        return self._world

    def lineage(self, digest: str, direction: Direction) -> Graph:
        return lineage(self.world(), digest, direction)

    def budget_history(self, contract_id: str) -> list[BudgetSeries]:
        return budget_history(self.world(), contract_id)


class BudgetPoint(BaseModel):
    """A dataset's spend just after one budget statement, epsilons at the contract's delta."""

    seq: int
    at: datetime
    kind: str
    run_id: str
    committed: float
    composed: float  # committed and still reserved, composed as RDP
    remaining: float


class BudgetSeries(BaseModel):
    dataset: str
    cap: float
    delta: float
    points: list[BudgetPoint]


def budget_history(world: World, contract_id: str) -> list[BudgetSeries]:
    """Each capped dataset's spend over time, replayed from the logged reserve, commit and abort statements."""
    series = []
    for cap, events in world.capped(contract_id):
        spend, points = DatasetBudget(cap=cap.epsilon_threshold, delta=cap.delta), []
        for event in replay(events, spend):
            points.append(
                BudgetPoint(
                    seq=event.seq,
                    at=event.at,
                    kind=event.statement.kind,
                    run_id=event.body.run_id,
                    committed=spend.committed_epsilon(),
                    composed=spend.composed_epsilon(),
                    remaining=spend.remaining(),
                )  # fmt: skip
            )
        series.append(BudgetSeries(dataset=cap.dataset, cap=cap.epsilon_threshold, delta=cap.delta, points=points))
    return series


def audit_contract(store: Store, note: str, vkey: VerifierKey, operator: str, contract_id: str) -> AuditReport:
    """`depa-audit verify --contract` over the stored log up to `note`, the checkpoint it was handed."""
    size = Checkpoint.parse(parse_note(note).text).size
    snapshot = Snapshot(note, lambda: islice(store.iter_leaves(), size), "this ledger's database")
    return audit(snapshot, vkey, operator=operator, contract=contract_id, parallel=False)
