"""Artefacts: a party registers data it holds (and caps a dataset across contracts); a run's agent registers
what the run produced, derived from what it read."""

from __future__ import annotations

from datetime import datetime

from chain.ledger.records import Artefact
from chain.ledger.state import State
from privacy.budget import SourceBudget, delta_limit
from schemas import statement as s
from schemas.errors import (
    BudgetExceeded,
    Conflict,
    NotAllowed,
    NotFound,
    Unprocessable,
)


def admit_register(reg: State, st: s.Statement, body: s.ArtefactRegister, now: datetime) -> None:
    if body.digest in reg.artefacts:
        raise Conflict(f"artefact {body.digest} is already registered")
    if body.produced_by is not None:
        admit_output(reg, st, body, now)
        return
    signer = reg.active_signer(st.iss)
    missing = [d for d in body.derived_from or [] if d not in reg.artefacts]
    if missing:
        raise Unprocessable(f"derived_from names unregistered artefacts: {', '.join(missing)}")
    if body.contract_id is not None:
        record = reg.contract(body.contract_id)
        if signer.key not in {p.key for p in record.named.values()}:
            raise NotAllowed(f"{signer.name} is not named in contract {record.id}")


def apply_register(reg: State, st: s.Statement, b: s.ArtefactRegister, seq: int, at: datetime) -> None:
    parents = tuple(b.derived_from or ())
    reg.artefacts[b.digest] = Artefact(
        b.digest, b.name, b.kind, b.format, b.size, b.encrypted_digest, parents,
        b.produced_by, b.contract_id, st.iss, seq, at, b.records,
    )  # fmt: skip
    for parent in parents:
        reg.derived[parent] = (*reg.derived.get(parent, ()), b.digest)


def admit_output(reg: State, st: s.Statement, body: s.ArtefactRegister, now: datetime) -> None:
    """An artefact produced by a run: registered by the run's agent, derived from what the run read."""
    assert body.produced_by is not None
    run = reg.run_of(st, body.produced_by, now, body.contract_id)
    if run.start_seq is None:
        raise Conflict(f"run {run.run_id} has not started")
    if body.contract_id is None:
        raise Unprocessable("an output names the contract it was produced under")
    own = set(run.inputs) | {d for d, a in reg.artefacts.items() if a.produced_by == run.run_id}
    if run.base_model is not None:
        own.add(run.base_model)
    if not body.derived_from or not set(body.derived_from) <= own:
        raise Unprocessable(f"an output derives from the inputs, base model or earlier outputs of run {run.run_id}")
    if body.kind == "model" and run.base_model is not None and run.base_model not in body.derived_from:
        raise Unprocessable(f"a model run {run.run_id} trained derives from its base model {run.base_model}")


def admit_cap(reg: State, st: s.Statement, body: s.DatasetCap, now: datetime) -> None:
    art = reg.artefacts.get(body.dataset)
    if art is None:
        raise NotFound(f"no artefact {body.dataset}")
    if art.kind != "dataset" or art.produced_by is not None:
        raise Unprocessable(f"{art.name} is not a provider's dataset; only a dataset carries a cap")
    signer = reg.active_signer(st.iss)
    if signer.key != reg.owner_key(body.dataset):
        raise NotAllowed(f"the cap on {art.name} is set by the party that registered it")
    source = reg.sources.get(body.dataset, SourceBudget())
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


def apply_cap(reg: State, st: s.Statement, b: s.DatasetCap, seq: int, at: datetime) -> None:
    source = reg.sources.setdefault(b.dataset, SourceBudget())
    source.epsilon, source.delta = b.epsilon, b.delta
