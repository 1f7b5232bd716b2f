"""Verify the evidence of an `attestation.report` statement, the one entry point for ledger, brokers and auditor."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509

from attestation.amd import AMD_ROOTS, Root, simulated_root
from attestation.binding import report_data_for
from attestation.certificates import load_certificates
from attestation.policy import AttestationPolicy
from attestation.result import AttestationResult, Claims, Security, check, failed
from attestation.snp import verify_snp
from attestation.tdx import verify_tdx
from schemas.contract import CcrPolicy
from schemas.encoding import unb64
from schemas.errors import MalformedInput
from schemas.statement import AttestationReport, Evidence

log = logging.getLogger("depa.attestation")


def verify_evidence(
    evidence: Evidence,
    policy: AttestationPolicy,
    *,
    at: datetime | None = None,
    simulated_roots: tuple[Root, ...] = (),
    extra_certs: Sequence[x509.Certificate] = (),
) -> AttestationResult:
    """Hardware evidence chains only to the vendors' pinned roots; simulated evidence only to roots given on purpose.

    extra_certs are certificates from elsewhere (a VCEK fetched from AMD's KDS, a chain file).
    Evidence is untrusted bytes: whatever a parser raises, the answer is a failed check, never an exception.
    """
    try:
        return _verify_evidence(evidence, policy, at, simulated_roots, extra_certs)
    except Exception as exc:
        log.exception("verifying %s evidence raised; answered as a failed check", evidence.type)
        reason = f"the evidence could not be parsed ({type(exc).__name__})"
        return AttestationResult.of(evidence.type, _security(evidence), [failed("evidence-format", reason)], Claims())


def _verify_evidence(
    evidence: Evidence,
    policy: AttestationPolicy,
    at: datetime | None,
    simulated_roots: tuple[Root, ...],
    extra_certs: Sequence[x509.Certificate],
) -> AttestationResult:
    try:
        report = unb64(evidence.report, "evidence.report")
        certs = [c for pem in evidence.certs or [] for c in load_certificates(pem.encode())]
        certs += extra_certs
    except (MalformedInput, ValueError) as exc:
        return AttestationResult.of(evidence.type, _security(evidence), [failed("evidence-format", str(exc))], Claims())
    if evidence.type == "tdx":
        log = unb64(evidence.event_log, "evidence.event_log") if evidence.event_log is not None else None
        return verify_tdx(report, policy=policy, at=at, collateral=evidence.collateral, event_log=log)
    if evidence.type == "simulated" and not simulated_roots:
        return AttestationResult.of(
            "simulated",
            "insecure-simulated",
            [
                failed(
                    "simulated-root",
                    "no simulated root is configured: simulated evidence is accepted only under a root "
                    "given on purpose",
                )
            ],
            Claims(),
        )
    # A simulated root given on purpose also serves evidence labelled sev-snp; the result says insecure-simulated.
    roots = simulated_roots if evidence.type == "simulated" else AMD_ROOTS + simulated_roots
    return verify_snp(report, certs, policy=policy, at=at, roots=roots, evidence_type=evidence.type, crl=evidence.crl)


def verify_attestation(body: AttestationReport, ccr: CcrPolicy, *, at: datetime | None = None) -> AttestationResult:
    """The statement's evidence under the contract's clean-room terms, REPORT_DATA bound to its binding document.

    The contract is the whole configuration: simulated evidence verifies only under the simulated roots it pins.
    """
    policy = AttestationPolicy.from_contract(ccr, report_data_for(body.binding))
    simulated = tuple(simulated_root(pin) for pin in ccr.simulated_roots) if ccr.allow_simulated else ()
    result = verify_evidence(body.evidence, policy, at=at, simulated_roots=simulated)
    extra = [
        check(
            "binding-matches",
            body.binding.run_id == body.run_id and body.binding.contract_id == body.contract_id,
            "the binding document names this run and contract",
            "the binding document names another run or contract than the statement",
        ),
    ]
    if result.security == "hardware":
        # An empty allow-list would admit any image on genuine hardware: a contract must say what may run.
        extra.append(
            check(
                "measurement-pinned",
                bool(ccr.measurements),
                f"the contract pins {len(ccr.measurements)} measurement(s) of the clean room's image",
                "the contract pins no measurement, so any image would pass: a hardware clean room runs only "
                "under a contract that names its image's measurement (ccr.measurements)",
            )
        )
    if result.security == "insecure-simulated":
        extra.append(
            check(
                "simulated-allowed",
                ccr.allow_simulated,
                "the contract allows a simulated TEE (INSECURE)",
                "simulated evidence, and the contract does not allow a simulated TEE",
            )
        )
    return AttestationResult.of(
        result.evidence_type, result.security, [*result.checks, *extra], result.claims, result.source
    )


def _security(evidence: Evidence) -> Security:
    return "insecure-simulated" if evidence.type == "simulated" else "hardware"
