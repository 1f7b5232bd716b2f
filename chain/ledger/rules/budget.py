"""The privacy budget of a run (docs/design.md, flows): reserve before reading, commit what was spent, or abort."""

from __future__ import annotations

from datetime import datetime

from chain.ledger.records import Run
from chain.ledger.state import State
from privacy import budget
from schemas import statement as s
from schemas.errors import (
    BudgetExceeded,
    Conflict,
    Unprocessable,
)


def _spend_terms(reg: State, run: Run, body: s.BudgetReserve) -> budget.DatasetBudget:
    """The dataset's budget, once the spend keeps the contract's delta and its minimum noise multiplier."""
    spend = reg.budget_of(run.contract_id, body.dataset)
    if body.delta != spend.delta:
        raise Unprocessable(f"delta {body.delta} is not the contract's {spend.delta} for {body.dataset}")
    floor = reg.contract(run.contract_id).contract.privacy_cap(body.dataset).noise_multiplier  # type: ignore[union-attr]
    low = [seg.noise_multiplier for seg in body.segments if floor is not None and seg.noise_multiplier < floor]
    if low:
        raise Unprocessable(
            f"noise multiplier {min(low)} is below the contract's minimum {floor} for {body.dataset}",
            remedy="train with at least the contract's noise multiplier",
        )
    return spend


def admit_reserve(reg: State, st: s.Statement, body: s.BudgetReserve, now: datetime) -> None:
    run = reg.run_of(st, body.run_id, now, body.contract_id)
    spend = _spend_terms(reg, run, body)
    if body.dataset in run.reservations:
        raise Conflict(f"run {run.run_id} already reserved budget on {body.dataset}")
    after = spend.composed_epsilon(budget.curve(body.segments))
    if after > spend.cap:
        raise BudgetExceeded(
            f"reserving this would compose to epsilon {after:.4f} on {body.dataset}, over the cap {spend.cap}",
            cap=spend.cap,
            delta=spend.delta,
            committed_epsilon=spend.committed_epsilon(),
            composed_epsilon=spend.composed_epsilon(),
            remaining_epsilon=spend.remaining(),
            requested_epsilon=budget.epsilon(budget.curve(body.segments), spend.delta),
        )


def apply_reserve(reg: State, st: s.Statement, b: s.BudgetReserve, seq: int, at: datetime) -> None:
    run = reg.runs[b.run_id]
    reg.budget_of(run.contract_id, b.dataset).reserve(b.run_id, b.segments)
    run.reservations[b.dataset] = seq


def admit_commit(reg: State, st: s.Statement, body: s.BudgetCommit, now: datetime) -> None:
    run = reg.run_of(st, body.run_id, now, body.contract_id)
    if body.dataset not in run.reservations:
        raise Conflict(f"run {run.run_id} has no budget reserved on {body.dataset} to commit")
    spend = _spend_terms(reg, run, body)
    if not budget.within(budget.curve(body.segments), spend.reserved[run.run_id]):
        raise Conflict(f"the executed segments spend more than run {run.run_id} reserved on {body.dataset}")


def apply_commit(reg: State, st: s.Statement, b: s.BudgetCommit, seq: int, at: datetime) -> None:
    run = reg.runs[b.run_id]
    reg.budget_of(run.contract_id, b.dataset).commit(b.run_id, b.segments)
    del run.reservations[b.dataset]
    run.commits[b.dataset] = seq


def admit_abort(reg: State, st: s.Statement, body: s.BudgetAbort, now: datetime) -> None:
    run = reg.run_of(st, body.run_id, now, body.contract_id)
    if body.dataset not in run.reservations:
        raise Conflict(f"run {run.run_id} has no budget reserved on {body.dataset} to abort")
    if body.dataset in run.releases:
        raise Conflict(f"the key of {body.dataset} was released to run {run.run_id}: commit what it spent")


def apply_abort(reg: State, st: s.Statement, b: s.BudgetAbort, seq: int, at: datetime) -> None:
    run = reg.runs[b.run_id]
    reg.budget_of(run.contract_id, b.dataset).release(b.run_id)
    del run.reservations[b.dataset]
