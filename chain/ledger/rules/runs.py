"""Clean-room runs (docs/design.md, flows): an attestation introduces a run's key; every later statement of the run
is signed by it. Key brokers release dataset keys only to the key the attestation bound."""

from __future__ import annotations

from datetime import datetime

from attestation.evidence import verify_attestation
from chain.ledger.records import Run
from chain.ledger.state import State
from chain.tlog.freshness import check_nonce
from schemas import statement as s
from schemas.errors import (
    AttestationRejected,
    Conflict,
    NotAllowed,
    Unavailable,
    Unprocessable,
)


def admit_attestation(reg: State, st: s.Statement, body: s.AttestationReport, now: datetime) -> None:
    if st.iss != body.binding.receipt_key:
        raise NotAllowed("attestation.report is signed by the receipt key its binding document names")
    if body.run_id in reg.runs:
        raise Conflict(f"run {body.run_id} is already attested")
    record = reg.contract(body.contract_id)
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
    if reg.history is None:
        raise Unavailable("the ledger cannot check the nonce against its log now")
    check_nonce(body.binding.nonce, now, ccr.nonce_window_s, reg.history.root_at, reg.history.superseded_at)
    result = verify_attestation(body, ccr, at=now)
    if not result.verified:
        raise AttestationRejected(
            "the evidence does not verify: " + "; ".join(f"{c.name}: {c.reason}" for c in result.failures)
        )
    if result.security == "insecure-simulated" and body.evidence.type != "simulated":
        raise AttestationRejected("evidence from a simulated TEE must say so: evidence.type is 'simulated'")


def apply_attestation(reg: State, st: s.Statement, b: s.AttestationReport, seq: int, at: datetime) -> None:
    # Replays do not re-verify: the evidence was checked when the log took it, and the auditor re-checks it.
    security = "insecure-simulated" if b.evidence.type == "simulated" else "hardware"
    reg.runs[b.run_id] = Run(
        run_id=b.run_id,
        contract_id=b.contract_id,
        agent=st.iss,
        x25519=b.binding.x25519,
        attestation=st.id,
        attestation_seq=seq,
        security=security,
        logged_at=at,
    )
    reg.agents[st.iss] = b.contract_id


def admit_start(reg: State, st: s.Statement, body: s.RunStart, now: datetime) -> None:
    run = reg.run_of(st, body.run_id, now, body.contract_id)
    if run.start_seq is not None:
        raise Conflict(f"run {run.run_id} already started")
    if body.attestation != run.attestation:
        raise Unprocessable(f"run {run.run_id} was attested by {run.attestation}, not {body.attestation}")
    if not body.inputs:
        raise Unprocessable("a run names its input datasets")
    record = reg.contract(run.contract_id)
    providers = {reg.provider_key(record, d.id) for d in record.contract.datasets}
    named = {d.source: d.id for d in record.contract.datasets if d.source is not None}
    for digest in body.inputs:
        art = reg.artefacts.get(digest)
        if art is None or art.kind != "dataset":
            raise Unprocessable(f"input {digest} is not a registered dataset")
        owner = reg.parties.get(art.owner)
        here = art.contract_id == run.contract_id or digest in named
        if not here or owner is None or owner.key not in providers:
            raise Unprocessable(f"input {digest} is not a dataset registered under contract {run.contract_id}")
        _check_capped_origins(reg, run, digest, named)
    if body.base_model != record.contract.base_model:
        wanted = record.contract.base_model or "none"
        raise Unprocessable(f"run {run.run_id} trains base model {body.base_model or 'none'}; contract "
                            f"{run.contract_id} names {wanted}")  # fmt: skip


def apply_start(reg: State, st: s.Statement, b: s.RunStart, seq: int, at: datetime) -> None:
    run = reg.runs[b.run_id]
    run.start_seq, run.inputs, run.base_model = seq, tuple(b.inputs), b.base_model


def _check_capped_origins(reg: State, run: Run, digest: str, named: dict[str, str]) -> None:
    """An input holding records of a provider-capped dataset (itself or an ancestor) is read only under a
    contract that names that dataset as a source, with budget reserved on it: no contract escapes the cap."""
    for origin in _ancestry(reg, digest):
        source = reg.sources.get(origin)
        if source is None or not source.capped:
            continue
        name = reg.artefacts[origin].name
        label = named.get(origin)
        if label is None:
            raise Unprocessable(
                f"input {digest} holds records of {name}, which its provider caps; contract {run.contract_id}"
                " names it as no dataset's source",
                remedy="propose a contract whose dataset names it as its source",
            )
        if label not in run.reservations and label not in run.commits:
            raise Conflict(f"run {run.run_id} reads {name} with no budget reserved on {label}")


def _ancestry(reg: State, digest: str) -> set[str]:
    """The artefact and every artefact it derives from."""
    seen, todo = {digest}, [digest]
    while todo:
        for parent in reg.artefacts[todo.pop()].derived_from:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def admit_complete(reg: State, st: s.Statement, body: s.RunComplete, now: datetime) -> None:
    run = reg.attested(body.run_id)
    if st.iss != run.agent:
        raise NotAllowed(f"statements of run {run.run_id} are signed by its attested agent key {run.agent}")
    if run.status is not None:
        raise Conflict(f"run {run.run_id} is already complete ({run.status})")
    if body.status == "succeeded" and run.start_seq is None:
        raise Conflict(f"run {run.run_id} never started; only a failed completion is possible")
    for digest in body.outputs or []:
        art = reg.artefacts.get(digest)
        if art is None or art.produced_by != run.run_id:
            raise Unprocessable(f"output {digest} is not registered as produced by run {run.run_id}")


def apply_complete(reg: State, st: s.Statement, b: s.RunComplete, seq: int, at: datetime) -> None:
    run = reg.runs[b.run_id]
    run.status, run.reason, run.outputs = b.status, b.reason, tuple(b.outputs or ())


def admit_key_release(reg: State, st: s.Statement, body: s.KeyRelease, now: datetime) -> None:
    run = reg.attested(body.run_id)
    if body.contract_id != run.contract_id:
        raise Unprocessable(f"run {run.run_id} runs under contract {run.contract_id}")
    record = reg.contract(run.contract_id)
    owner = reg.parties.get(st.iss)
    if owner is None or owner.key != reg.provider_key(record, body.dataset) or owner.did != st.iss:
        raise NotAllowed(f"the key of {body.dataset} is released by its provider's current key")
    if record.state(now) != "active" or run.status is not None:
        raise Conflict(f"run {run.run_id} is complete or its contract is not active")
    if body.recipient != run.x25519:
        raise Unprocessable("keys are released only to the X25519 key bound in the run's attestation")
    if body.dataset in run.releases:
        raise Conflict(f"the key of {body.dataset} was already released to run {run.run_id}")
    if record.contract.privacy_cap(body.dataset) is not None and body.dataset not in run.reservations:
        raise Conflict(f"run {run.run_id} has reserved no budget on {body.dataset}")


def apply_key_release(reg: State, st: s.Statement, b: s.KeyRelease, seq: int, at: datetime) -> None:
    reg.runs[b.run_id].releases[b.dataset] = seq
