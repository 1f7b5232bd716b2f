"""What the ledger shows of its state: its records turned into the API's models (`schemas/api.py`)."""

from __future__ import annotations

from datetime import datetime

from chain.ledger.records import Artefact, ContractRecord, Party, Run
from privacy.budget import ORDERS, DatasetBudget, SourceBudget
from schemas.api import ArtefactView, ContractView, DatasetBudgetView, PartyView, RunView, SignatureView, SourceCapView


def party_view(p: Party) -> PartyView:
    """A copy: the record stays the ledger's to change."""
    return PartyView.model_validate(p.model_dump())


def run_view(run: Run) -> RunView:
    return RunView.model_validate(run.model_dump())


def contract_view(r: ContractRecord, now: datetime) -> ContractView:
    by_key = {p.key: (ref, p) for ref, p in r.named.items()}
    state = r.state(now)
    return ContractView(
        id=r.id,
        state=state,
        contract=r.raw,
        proposer=r.proposer,
        proposed_seq=r.proposed_seq,
        proposed_at=r.proposed_at,
        signatures=[
            SignatureView(party=by_key[k][0], name=by_key[k][1].name, did=sig.did, seq=sig.seq, logged_at=sig.logged_at)
            for k, sig in r.signatures.items()
        ],
        unsigned=r.unsigned(),
        activated_at=r.activated_at(),
        closed_at=r.closed_at() if state == "closed" else None,
        revoke_reason=r.revoke_reason,
    )


def artefact_view(a: Artefact, derived: tuple[str, ...], source: SourceBudget | None = None) -> ArtefactView:
    cap = None
    if source is not None and source.capped:
        eps, delta = source.drawn()
        cap = SourceCapView(epsilon=source.epsilon, delta=source.delta, drawn_epsilon=eps, drawn_delta=delta)  # type: ignore[arg-type]
    return ArtefactView(**a._asdict(), derived=list(derived), cap=cap)


def budget_view(dataset: str, b: DatasetBudget) -> DatasetBudgetView:
    committed, composed = b.committed_epsilon(), b.composed_epsilon()
    return DatasetBudgetView(
        dataset=dataset, cap=b.cap, delta=b.delta, filter_order=ORDERS[b.order], committed_epsilon=committed,
        reserved_epsilon=composed - committed, composed_epsilon=composed, remaining_epsilon=b.remaining(),
        reservations=sorted(b.reserved), committed_segments=b.committed_segments,
        reserved_segments=[seg for segs in b.reserved_segments.values() for seg in segs],
    )  # fmt: skip
