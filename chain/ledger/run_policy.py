"""The clean-room statements of DESIGN sections 3 to 5: attestation, runs, privacy budget, key release, outputs.

A mixin of `Registry`: the same admit/apply contract, for the statements an attested agent (and the
key brokers) sign. Every statement of a run after its attestation is signed by the key bound in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from attestation.evidence import verify_attestation
from chain.ledger.records import ContractRecord, Party, Run
from chain.tlog.freshness import check_nonce
from privacy import budget
from schemas import statement as s
from schemas.errors import (
    AttestationRejected,
    BudgetExceeded,
    Conflict,
    NotAllowed,
    NotFound,
    Unavailable,
    Unprocessable,
)


class History(Protocol):
    """The log an attestation's nonce names a checkpoint of (the ledger)."""

    def root_at(self, size: int) -> bytes | None: ...
    def superseded_at(self, size: int) -> datetime | None: ...


class RunRules:
    """Admission and state for the clean-room statements; `Registry` provides the fields named below."""

    runs: dict[str, Run]
    agents: dict[str, str]
    history: History | None  # the log itself, for the nonce's checkpoint
    budgets: dict[tuple[str, str], budget.DatasetBudget]
    sources: dict[str, budget.SourceBudget]
    artefacts: dict
    parties: dict

    if TYPE_CHECKING:

        def contract(self, contract_id: str) -> ContractRecord: ...
        def resolve(self, ref: str) -> Party | None: ...

    # --- helpers -----------------------------------------------------------------------

    def _attested(self, run_id: str) -> Run:
        run = self.runs.get(run_id)
        if run is None:
            raise NotFound(f"no attested run {run_id}")
        return run

    def _run_of(self, st: s.Statement, run_id: str, now: datetime, contract_id: str | None = None) -> Run:
        """The run the statement speaks for, signed by its agent, under its still-active contract."""
        run = self._attested(run_id)
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

    def budget_of(self, contract_id: str, dataset: str) -> budget.DatasetBudget:
        """The dataset's budget under the contract, made on first use from its privacy constraint."""
        key = (contract_id, dataset)
        if key not in self.budgets:
            record = self.contract(contract_id)
            if dataset not in {d.id for d in record.contract.datasets}:
                raise Unprocessable(f"contract {contract_id} has no dataset {dataset}")
            cap = record.contract.privacy_cap(dataset)
            if cap is None:
                raise Unprocessable(f"dataset {dataset} has no privacy cap in contract {contract_id}")
            self.budgets[key] = budget.DatasetBudget(cap=cap.epsilon_threshold, delta=cap.delta)
        return self.budgets[key]

    def _spend_terms(self, run: Run, body: s.BudgetReserve) -> budget.DatasetBudget:
        """The dataset's budget, once the spend keeps the contract's delta and its minimum noise multiplier."""
        spend = self.budget_of(run.contract_id, body.dataset)
        if body.delta != spend.delta:
            raise Unprocessable(f"delta {body.delta} is not the contract's {spend.delta} for {body.dataset}")
        floor = self.contract(run.contract_id).contract.privacy_cap(body.dataset).noise_multiplier  # type: ignore[union-attr]
        low = [seg.noise_multiplier for seg in body.segments if floor is not None and seg.noise_multiplier < floor]
        if low:
            raise Unprocessable(
                f"noise multiplier {min(low)} is below the contract's minimum {floor} for {body.dataset}",
                remedy="train with at least the contract's noise multiplier",
            )
        return spend

    def _provider_key(self, record: ContractRecord, dataset: str) -> str:
        found = next((d for d in record.contract.datasets if d.id == dataset), None)
        if found is None:
            raise Unprocessable(f"contract {record.id} has no dataset {dataset}")
        party = self.resolve(found.provider)
        if party is None:
            raise Unprocessable(f"dataset {dataset} names provider {found.provider!r}, not a registered party")
        return party.key

    # --- attestation.report ------------------------------------------------------------

    def _admit_attestation_report(self, st: s.Statement, body: s.AttestationReport, now: datetime) -> None:
        if st.iss != body.binding.receipt_key:
            raise NotAllowed("attestation.report is signed by the receipt key its binding document names")
        if body.run_id in self.runs:
            raise Conflict(f"run {body.run_id} is already attested")
        record = self.contract(body.contract_id)
        state = record.state(now)
        if state != "active":
            raise Conflict(f"contract {record.id} is {state}; a run needs an active contract")
        ccr = record.contract.ccr
        if not ccr.measurements and not ccr.allow_simulated:
            raise AttestationRejected(
                f"contract {record.id} pins no clean-room measurement and allows no simulated TEE: no run can attest"
                " under it",
                remedy="propose a contract whose ccr.measurements names the clean room's image",
            )
        if self.history is None:
            raise Unavailable("the ledger cannot check the nonce against its log now")
        check_nonce(body.binding.nonce, now, ccr.nonce_window_s, self.history.root_at, self.history.superseded_at)
        result = verify_attestation(body, ccr, at=now)
        if not result.verified:
            raise AttestationRejected(
                "the evidence does not verify: " + "; ".join(f"{c.name}: {c.reason}" for c in result.failures)
            )
        if result.security == "insecure-simulated" and body.evidence.type != "simulated":
            raise AttestationRejected("evidence from a simulated TEE must say so: evidence.type is 'simulated'")

    def _apply_attestation_report(self, st: s.Statement, b: s.AttestationReport, seq: int, at: datetime) -> None:
        # Replays do not re-verify: the evidence was checked when the log took it, and the auditor re-checks it.
        security = "insecure-simulated" if b.evidence.type == "simulated" else "hardware"
        self.runs[b.run_id] = Run(
            run_id=b.run_id,
            contract_id=b.contract_id,
            agent=st.iss,
            x25519=b.binding.x25519,
            attestation=st.id,
            attestation_seq=seq,
            security=security,
            logged_at=at,
        )
        self.agents[st.iss] = b.contract_id

    # --- privacy budget ----------------------------------------------------------------

    def _admit_budget_reserve(self, st: s.Statement, body: s.BudgetReserve, now: datetime) -> None:
        run = self._run_of(st, body.run_id, now, body.contract_id)
        spend = self._spend_terms(run, body)
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

    def _apply_budget_reserve(self, st: s.Statement, b: s.BudgetReserve, seq: int, at: datetime) -> None:
        run = self.runs[b.run_id]
        self.budget_of(run.contract_id, b.dataset).reserve(b.run_id, b.segments)
        run.reservations[b.dataset] = seq

    def _admit_budget_commit(self, st: s.Statement, body: s.BudgetCommit, now: datetime) -> None:
        run = self._run_of(st, body.run_id, now, body.contract_id)
        if body.dataset not in run.reservations:
            raise Conflict(f"run {run.run_id} has no budget reserved on {body.dataset} to commit")
        spend = self._spend_terms(run, body)
        if not budget.within(budget.curve(body.segments), spend.reserved[run.run_id]):
            raise Conflict(f"the executed segments spend more than run {run.run_id} reserved on {body.dataset}")

    def _apply_budget_commit(self, st: s.Statement, b: s.BudgetCommit, seq: int, at: datetime) -> None:
        run = self.runs[b.run_id]
        self.budget_of(run.contract_id, b.dataset).commit(b.run_id, b.segments)
        del run.reservations[b.dataset]
        run.commits[b.dataset] = seq

    def _admit_budget_abort(self, st: s.Statement, body: s.BudgetAbort, now: datetime) -> None:
        run = self._run_of(st, body.run_id, now, body.contract_id)
        if body.dataset not in run.reservations:
            raise Conflict(f"run {run.run_id} has no budget reserved on {body.dataset} to abort")
        if body.dataset in run.releases:
            raise Conflict(f"the key of {body.dataset} was released to run {run.run_id}: commit what it spent")

    def _apply_budget_abort(self, st: s.Statement, b: s.BudgetAbort, seq: int, at: datetime) -> None:
        run = self.runs[b.run_id]
        self.budget_of(run.contract_id, b.dataset).release(b.run_id)
        del run.reservations[b.dataset]

    # --- key.release -------------------------------------------------------------------

    def _admit_key_release(self, st: s.Statement, body: s.KeyRelease, now: datetime) -> None:
        run = self._attested(body.run_id)
        if body.contract_id != run.contract_id:
            raise Unprocessable(f"run {run.run_id} runs under contract {run.contract_id}")
        record = self.contract(run.contract_id)
        owner = self.parties.get(st.iss)
        if owner is None or owner.key != self._provider_key(record, body.dataset) or owner.did != st.iss:
            raise NotAllowed(f"the key of {body.dataset} is released by its provider's current key")
        if record.state(now) != "active" or run.status is not None:
            raise Conflict(f"run {run.run_id} is complete or its contract is not active")
        if body.recipient != run.x25519:
            raise Unprocessable("keys are released only to the X25519 key bound in the run's attestation")
        if body.dataset in run.releases:
            raise Conflict(f"the key of {body.dataset} was already released to run {run.run_id}")
        if record.contract.privacy_cap(body.dataset) is not None and body.dataset not in run.reservations:
            raise Conflict(f"run {run.run_id} has reserved no budget on {body.dataset}")

    def _apply_key_release(self, st: s.Statement, b: s.KeyRelease, seq: int, at: datetime) -> None:
        self.runs[b.run_id].releases[b.dataset] = seq

    # --- run.start / run.complete ------------------------------------------------------

    def _admit_run_start(self, st: s.Statement, body: s.RunStart, now: datetime) -> None:
        run = self._run_of(st, body.run_id, now, body.contract_id)
        if run.start_seq is not None:
            raise Conflict(f"run {run.run_id} already started")
        if body.attestation != run.attestation:
            raise Unprocessable(f"run {run.run_id} was attested by {run.attestation}, not {body.attestation}")
        if not body.inputs:
            raise Unprocessable("a run names its input datasets")
        record = self.contract(run.contract_id)
        providers = {self._provider_key(record, d.id) for d in record.contract.datasets}
        named = {d.source: d.id for d in record.contract.datasets if d.source is not None}
        for digest in body.inputs:
            art = self.artefacts.get(digest)
            if art is None or art.kind != "dataset":
                raise Unprocessable(f"input {digest} is not a registered dataset")
            owner = self.parties.get(art.owner)
            here = art.contract_id == run.contract_id or digest in named
            if not here or owner is None or owner.key not in providers:
                raise Unprocessable(f"input {digest} is not a dataset registered under contract {run.contract_id}")
            self._check_capped_origins(run, digest, named)

    def _check_capped_origins(self, run: Run, digest: str, named: dict[str, str]) -> None:
        """An input holding records of a provider-capped dataset (itself or an ancestor) is read only under a
        contract that names that dataset as a source, with budget reserved on it: no contract escapes the cap."""
        for origin in self._ancestry(digest):
            source = self.sources.get(origin)
            if source is None or not source.capped:
                continue
            name = self.artefacts[origin].name
            label = named.get(origin)
            if label is None:
                raise Unprocessable(
                    f"input {digest} holds records of {name}, which its provider caps; contract {run.contract_id}"
                    " names it as no dataset's source",
                    remedy="propose a contract whose dataset names it as its source",
                )
            if label not in run.reservations and label not in run.commits:
                raise Conflict(f"run {run.run_id} reads {name} with no budget reserved on {label}")

    def _ancestry(self, digest: str) -> set[str]:
        """The artefact and every artefact it derives from."""
        seen, todo = {digest}, [digest]
        while todo:
            for parent in self.artefacts[todo.pop()].derived_from:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def _apply_run_start(self, st: s.Statement, b: s.RunStart, seq: int, at: datetime) -> None:
        run = self.runs[b.run_id]
        run.start_seq, run.inputs = seq, tuple(b.inputs)

    def _admit_run_complete(self, st: s.Statement, body: s.RunComplete, now: datetime) -> None:
        run = self._attested(body.run_id)
        if st.iss != run.agent:
            raise NotAllowed(f"statements of run {run.run_id} are signed by its attested agent key {run.agent}")
        if run.status is not None:
            raise Conflict(f"run {run.run_id} is already complete ({run.status})")
        if body.status == "succeeded" and run.start_seq is None:
            raise Conflict(f"run {run.run_id} never started; only a failed completion is possible")
        for digest in body.outputs or []:
            art = self.artefacts.get(digest)
            if art is None or art.produced_by != run.run_id:
                raise Unprocessable(f"output {digest} is not registered as produced by run {run.run_id}")

    def _apply_run_complete(self, st: s.Statement, b: s.RunComplete, seq: int, at: datetime) -> None:
        run = self.runs[b.run_id]
        run.status, run.reason, run.outputs = b.status, b.reason, tuple(b.outputs or ())

    # --- outputs -----------------------------------------------------------------------

    def _admit_output(self, st: s.Statement, body: s.ArtefactRegister, now: datetime) -> None:
        """An artefact produced by a run: registered by the run's agent, derived from what the run read."""
        assert body.produced_by is not None
        run = self._run_of(st, body.produced_by, now, body.contract_id)
        if run.start_seq is None:
            raise Conflict(f"run {run.run_id} has not started")
        if body.contract_id is None:
            raise Unprocessable("an output names the contract it was produced under")
        own = set(run.inputs) | {d for d, a in self.artefacts.items() if a.produced_by == run.run_id}
        if not body.derived_from or not set(body.derived_from) <= own:
            raise Unprocessable(f"an output derives from the inputs (or earlier outputs) of run {run.run_id}")
