"""The audit's findings: per contract and run, each check pass, fail, not-checked or insecure, with its reason."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from attestation.evidence import verify_attestation
from auditor import exact
from auditor.accounting import best_epsilon, filter_epsilon, odometer, pld_epsilon, rdp_curve
from auditor.lineage import reachable
from auditor.replay import RunState, World
from chain.tlog.freshness import check_nonce
from privacy.budget import ORDERS, delta_limit, filter_order, step_curve, within
from schemas.errors import DepaError
from schemas.statement import Segment

Outcome = Literal["pass", "fail", "not-checked", "insecure"]


class Finding(BaseModel):
    scope: str  # "log", "statements", "contract <id>", "run <id>", "budget <contract> <dataset>"
    check: str
    status: Outcome
    reason: str
    seq: int | None = None


def ok(scope: str, check: str, good: bool, yes: str, no: str, seq: int | None = None) -> Finding:
    return Finding(scope=scope, check=check, status="pass" if good else "fail", reason=yes if good else no, seq=seq)


def accountant_findings(scope: str, segments: list[Segment], best: float, pld: float) -> list[Finding]:
    """dp-accounting's RDP against an accountant written apart (auditor/exact.py), and against its own PLD."""
    wrong = [
        f"noise {q_sigma[1]} at rate {q_sigma[0]}, {problem}"
        for q_sigma in sorted({(seg.sample_rate, seg.noise_multiplier) for seg in segments})
        for problem in exact.disagreements(*q_sigma, ORDERS, step_curve(*q_sigma))[:1]
    ]
    return [
        ok(scope, "accountants", not wrong,
           "dp-accounting's RDP agrees with the closed form at every integer order",
           "dp-accounting's RDP disagrees with the closed form: " + "; ".join(wrong[:3])),
        # PLD accounting is the tighter of the two: an RDP figure below it means one of them is wrong.
        ok(scope, "rdp-bounds-pld", best >= pld - 1e-6, f"RDP {best:.4f} is no tighter than PLD {pld:.4f}",
           f"RDP reports {best:.4f}, less than PLD's {pld:.4f}: one accountant is wrong"),
    ]  # fmt: skip


def statement_findings(world: World) -> list[Finding]:
    found = [
        Finding(scope="statements", check="signer", status="fail", reason=r.reason, seq=r.seq) for r in world.refusals
    ]
    if not found:
        found.append(
            Finding(
                scope="statements",
                check="signer",
                status="pass",
                reason=f"all {world.statements} statements are signed by keys allowed to sign them",
            )
        )
    return found


def _active_at(world: World, contract_id: str, at: datetime) -> str | None:
    """Why the contract was not in force at `at`, or None."""
    state = world.contracts.get(contract_id)
    if state is None:
        return f"no contract {contract_id}"
    c = state.contract
    missing = [
        ref
        for ref in c.named_parties()
        if not (p := world.party(ref)) or state.signed.get(p.dids[0], at) > at or p.dids[0] not in state.signed
    ]
    if missing:
        return f"not signed by {', '.join(missing)} by then"
    if not c.startTime <= at < c.expiryTime:
        return f"outside its term ({c.startTime:%Y-%m-%d} to {c.expiryTime:%Y-%m-%d})"
    if state.revoked_at is not None and state.revoked_at <= at:
        return f"revoked at {state.revoked_at:%Y-%m-%d %H:%M:%S}"
    return None


def _nonce_finding(world: World, scope: str, run: RunState, window_s: int) -> Finding:
    seq, problem = run.attestation.seq, ""
    try:
        check_nonce(run.body.binding.nonce, run.attestation.at, window_s,
                    lambda size: world.root_at(size, seq), lambda size: world.superseded_at(size, seq))  # fmt: skip
    except DepaError as exc:
        problem = exc.detail
    fresh = f"the evidence is bound to a checkpoint of this log, current within {window_s} s"
    return ok(scope, "nonce", not problem, fresh, problem, seq)


def run_findings(world: World, run_id: str, run: RunState) -> list[Finding]:
    scope, body = f"run {run_id}", run.body
    cid = body.contract_id
    state = world.contracts.get(cid)
    started = run.start or run.attestation
    inactive = _active_at(world, cid, started.at)
    found = [
        ok(
            scope,
            "contract-in-force",
            inactive is None,
            f"contract {cid[:19]}... was in force and signed by all",
            f"contract {cid[:19]}... was not in force when the run started: {inactive}",
            started.seq,
        )
    ]
    if state is not None:
        found.append(_nonce_finding(world, scope, run, state.contract.ccr.nonce_window_s))
        result = verify_attestation(body, state.contract.ccr, at=run.attestation.at)
        failures = "; ".join(f"{c.name}: {c.reason}" for c in result.failures)
        found.append(
            ok(
                scope,
                "attestation",
                result.verified,
                f"{body.evidence.type} evidence re-verified under the "
                "contract's terms, REPORT_DATA bound to the binding document",
                failures,
                run.attestation.seq,
            )
        )
        if result.security == "insecure-simulated":
            found.append(
                Finding(
                    scope=scope,
                    check="tee",
                    status="insecure",
                    seq=run.attestation.seq,
                    reason="simulated TEE: the contract allowed it, and it proves nothing about hardware",
                )
            )
    found += _input_findings(world, scope, run, state)
    bad = [r for r in run.releases.values() if r.body.recipient != body.binding.x25519]
    found.append(
        ok(
            scope,
            "key-releases",
            not bad,
            f"{len(run.releases)} keys released, each to the attested key",
            f"key of {bad[0].body.dataset if bad else ''} released to another key",
            bad[0].seq if bad else None,
        )
    )
    found += _output_findings(scope, run)
    found.append(
        ok(
            scope,
            "complete",
            run.complete is not None or run.start is None,
            f"completed: {run.complete.body.status}" if run.complete else "never started",
            "incomplete run: started, never completed",
            run.start.seq if run.start else None,
        )
    )
    return found


def _input_findings(world: World, scope: str, run: RunState, state) -> list[Finding]:
    if run.start is None:
        return []
    body = run.start.body
    providers = {p.dids[0] for d in state.contract.datasets if (p := world.party(d.provider))} if state else set()
    sources = {d.source for d in state.contract.datasets} if state else set()
    wrong = []
    for digest in body.inputs:
        art = world.artefacts.get(digest)
        owner = world.party(art.iss) if art else None
        if (
            art is None
            or art.kind != "dataset"
            or (art.contract_id != run.body.contract_id and digest not in sources)
            or owner is None
            or owner.dids[0] not in providers
        ):
            wrong.append(digest)
    found = [
        ok(
            scope,
            "inputs",
            not wrong,
            f"{len(body.inputs)} inputs, each a dataset its provider registered under the contract or that the"
            " contract names as a source",
            f"not the contract's registered datasets: {', '.join(wrong)}",
            run.start.seq,
        )
    ]
    found += _capped_findings(world, scope, run, state)
    named = state.contract.base_model if state else None
    if named is not None or body.base_model is not None:
        art = world.artefacts.get(body.base_model or "")
        found.append(
            ok(
                scope,
                "base-model",
                body.base_model == named and art is not None and art.kind == "model",
                f"trains the contract's base model {named}, a registered model",
                f"trains {body.base_model or 'no base model'}; the contract names {named or 'none'}"
                + ("" if art is None or art.kind == "model" else f", and {art.name} is no model"),
                run.start.seq,
            )
        )
    found.append(
        ok(
            scope,
            "attestation-cited",
            body.attestation == run.attestation.statement.id,
            "run.start cites the run's attestation",
            "run.start cites another attestation",
            run.start.seq,
        )
    )
    return found


def _capped_findings(world: World, scope: str, run: RunState, state) -> list[Finding]:
    """Records of a provider-capped dataset (an input, or what it derives from) read only under a contract that
    names the dataset as a source, with budget reserved on that label."""
    assert run.start is not None
    named = {d.source: d.id for d in state.contract.datasets if d.source} if state else {}
    capped, outside = set(), []
    for digest in run.start.body.inputs:
        for origin in reachable(world, digest, "up") if digest in world.artefacts else ():
            cap = world.caps.get(origin)
            if cap is None or cap.seq > run.start.seq:
                continue
            capped.add(origin)
            if named.get(origin) not in run.reserves:
                outside.append(world.artefacts[origin].name)
    if not capped:
        return []
    return [
        ok(
            scope,
            "capped-data",
            not outside,
            f"{len(capped)} provider-capped datasets read under the contract naming them, with budget reserved",
            f"reads provider-capped data outside a contract naming it, or without budget: {', '.join(outside)}",
            run.start.seq,
        )
    ]


def _output_findings(scope: str, run: RunState) -> list[Finding]:
    inputs = set(run.start.body.reads()) if run.start else set()
    base = run.start.body.base_model if run.start else None
    digests = {o.body.digest for o in run.outputs}
    bad = [
        o
        for o in run.outputs
        if not o.body.derived_from
        or not set(o.body.derived_from) <= inputs | digests
        or not o.body.encrypted_digest
        or (o.body.kind == "model" and base is not None and base not in o.body.derived_from)
    ]
    declared = set(run.complete.body.outputs or []) if run.complete else digests
    return [
        ok(
            scope,
            "outputs",
            not bad and declared <= digests,
            f"{len(run.outputs)} outputs registered encrypted, with lineage back to the inputs"
            + (" and the base model" if base else ""),
            "an output lacks lineage to the inputs or an encrypted digest, or run.complete names an unregistered one",
            bad[0].seq if bad else None,
        ),
        Finding(
            scope=scope,
            check="output-recipients",
            status="not-checked",
            reason="who can decrypt an output is in its ciphertext, which the log does not hold",
        ),
    ]


def budget_findings(world: World, recorded: dict[tuple[str, str], float] | None = None) -> list[Finding]:
    """Per dataset, the spend recomputed from raw segments at every reservation, and at the end by two accountants."""
    committed: dict[tuple[str, str], list[Segment]] = {}
    outstanding: dict[tuple[str, str], dict[str, list[Segment]]] = {}
    found: list[Finding] = []
    for event in world.budget_events:
        b, kind = event.body, event.statement.kind
        key = (b.contract_id, b.dataset)
        state = world.contracts.get(b.contract_id)
        cap = state.contract.privacy_cap(b.dataset) if state else None
        held = outstanding.setdefault(key, {})
        if kind == "budget.reserve":
            if cap is None:
                found.append(
                    Finding(
                        scope=f"budget {b.contract_id[:19]}... {b.dataset}",
                        check="cap",
                        status="fail",
                        reason="budget reserved on a dataset the contract does not cap",
                        seq=event.seq,
                    )
                )
                continue
            found += _noise_findings(event, cap)
            composed = filter_epsilon(
                rdp_curve([*committed.get(key, []), *(s for v in held.values() for s in v), *b.segments]),
                cap.epsilon_threshold,
                cap.delta,
            )
            if composed > cap.epsilon_threshold + 1e-9:
                found.append(
                    Finding(
                        scope=f"budget {b.contract_id[:19]}... {b.dataset}",
                        check="cap",
                        status="fail",
                        reason=f"run {b.run_id} was admitted past the cap: composed epsilon {composed:.4f} "
                        f"> {cap.epsilon_threshold}",
                        seq=event.seq,
                    )
                )
            held[b.run_id] = list(b.segments)
        elif kind == "budget.commit":
            found += _noise_findings(event, cap)
            reserved = held.pop(b.run_id, [])
            if cap is not None and not within(rdp_curve(b.segments), rdp_curve(reserved)):  # at every order
                found.append(
                    Finding(
                        scope=f"budget {b.contract_id[:19]}... {b.dataset}",
                        check="commit",
                        status="fail",
                        reason=f"run {b.run_id} committed more than it reserved",
                        seq=event.seq,
                    )
                )
            committed.setdefault(key, []).extend(b.segments)
        else:
            held.pop(b.run_id, None)
    for (cid, dataset), segments in committed.items():
        state = world.contracts.get(cid)
        cap = state.contract.privacy_cap(dataset) if state else None
        if cap is None:
            continue
        spent = rdp_curve(segments)
        rdp, best = filter_epsilon(spent, cap.epsilon_threshold, cap.delta), best_epsilon(spent, cap.delta)
        pld = pld_epsilon(segments, cap.delta)
        order = ORDERS[filter_order(cap.epsilon_threshold, cap.delta)]
        scope = f"budget {cid[:19]}... {dataset}"
        figures = f"spent epsilon {rdp:.4f} (RDP filter at order {order:g}; best order {best:.4f}), {pld:.4f} (PLD)"
        # The odometer bounds the loss realised so far with no plan fixed in advance; the filter's verdict is above.
        reading = f"; the odometer reads {odometer(spent, cap.delta):.4f}"
        found.append(
            ok(
                scope,
                "spent",
                rdp <= cap.epsilon_threshold + 1e-9,
                f"{figures} of the cap {cap.epsilon_threshold}{reading}",
                f"{figures} is over the cap {cap.epsilon_threshold}{reading}",
            )
        )
        found += accountant_findings(scope, segments, best, pld)
        if recorded is not None and (cid, dataset) in recorded:
            theirs = recorded[(cid, dataset)]
            found.append(
                ok(
                    scope,
                    "recorded",
                    abs(theirs - rdp) <= 1e-6 * max(1.0, rdp),
                    f"the ledger's figure {theirs:.4f} agrees with the recomputation",
                    f"the ledger says {theirs:.6f}, the recomputation {rdp:.6f}",
                )
            )
    return found


def source_findings(world: World) -> list[Finding]:
    """Per provider-capped dataset: what the contracts its provider signed draw from it, summed (basic
    composition of the contracts' filters), within its cap."""
    found = []
    for digest, logged in world.caps.items():
        cap, eps, delta, uncapped = logged.body, [], [], []
        for cid, state in world.contracts.items():
            for d in state.contract.datasets:
                provider = world.party(d.provider) if d.source == digest else None
                if provider is None or provider.dids[0] not in state.signed:
                    continue
                drawn = state.contract.privacy_cap(d.id)
                if drawn is None:
                    uncapped.append(cid)
                else:
                    eps.append(drawn.epsilon_threshold)
                    delta.append(drawn.delta)
        name = world.artefacts[digest].name if digest in world.artefacts else digest
        total_eps, total_delta = math.fsum(eps), math.fsum(delta)
        draw = "1 contract draws" if len(eps) == 1 else f"{len(eps)} contracts draw"
        figures = f"{draw} epsilon {total_eps:g}, delta {total_delta:g}"
        of = f"the cap epsilon {cap.epsilon:g}, delta {cap.delta:g}"
        over = total_eps > cap.epsilon or total_delta > cap.delta
        bad = f"{figures}, over {of}" if over else f"contracts use it with no privacy cap: {', '.join(uncapped)}"
        found.append(ok(f"dataset {name}", "cap", not (over or uncapped), f"{figures}, within {of}", bad, logged.seq))
    return found


def delta_findings(world: World) -> list[Finding]:
    """Each delta on a dataset that declares its record count n, at most 1/(10 n): a provider's cap, and every
    contract's privacy constraint on it unless the constraint allows a larger one."""
    found = []
    for digest, logged in world.caps.items():
        n, delta = world.records.get(digest), logged.body.delta
        if n is not None and delta > delta_limit(n):
            found.append(_delta_finding(f"dataset {world.artefacts[digest].name}", delta, n, logged.seq))
    for cid, state in world.contracts.items():
        for d in state.contract.datasets:
            cap, n = state.contract.privacy_cap(d.id), world.records.get(d.source or "")
            if cap is not None and n is not None and cap.delta > delta_limit(n) and not cap.allow_large_delta:
                found.append(_delta_finding(f"contract {cid[:19]}... {d.id}", cap.delta, n, state.proposed_seq))
    return found


def _delta_finding(scope: str, delta: float, records: int, seq: int) -> Finding:
    reason = f"delta {delta:g} is over 1/(10 n) = {delta_limit(records):.3g} for the {records} records declared"
    return Finding(scope=scope, check="delta", status="fail", reason=reason, seq=seq)


def _noise_findings(event, cap) -> list[Finding]:
    """A segment below the contract's minimum noise multiplier, which the ledger should have refused."""
    floor = cap.noise_multiplier if cap is not None else None
    low = [seg.noise_multiplier for seg in event.body.segments if floor is not None and seg.noise_multiplier < floor]
    if not low:
        return []
    b = event.body
    reason = f"run {b.run_id} spent noise multiplier {min(low)}, below the contract's minimum {floor}"
    return [Finding(scope=f"budget {b.contract_id[:19]}... {b.dataset}", check="noise", status="fail", reason=reason,
                    seq=event.seq)]  # fmt: skip


def all_findings(world: World, recorded: dict[tuple[str, str], float] | None = None) -> list[Finding]:
    found = statement_findings(world)
    for run_id, run in world.runs.items():
        found += run_findings(world, run_id, run)
    return found + budget_findings(world, recorded) + source_findings(world) + delta_findings(world)
