"""`depa-audit attestation verify`: evidence files in, one verified result per report or quote out."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from attestation.amd import simulated_root
from attestation.binding import report_data_for
from attestation.certificates import fingerprint, load_certificates
from attestation.evidence import verify_evidence
from attestation.policy import AttestationPolicy
from attestation.result import AttestationResult
from auditor.evidence_files import REMEDY, load
from schemas.canonical import parse_json
from schemas.errors import MalformedInput, SchemaViolation
from schemas.statement import TdxCollateral


def load_policy(path: Path | None) -> AttestationPolicy:
    if path is None:
        return AttestationPolicy()
    try:
        return AttestationPolicy.model_validate(parse_json(path.read_bytes()))
    except OSError as exc:
        raise MalformedInput(f"cannot read policy {path}: {exc.strerror}", remedy=REMEDY) from exc
    except ValueError as exc:
        raise SchemaViolation(f"policy {path}: {str(exc).splitlines()[0]}") from exc


def load_simulated_roots(paths: list[Path]) -> tuple:
    """Simulated ARKs trusted on purpose; everything verified under them is labelled insecure-simulated."""
    roots = []
    for path in paths:
        try:
            roots += [
                simulated_root(fingerprint(c)) for c in load_certificates(path.read_bytes()) if c.issuer == c.subject
            ]
        except (OSError, ValueError) as exc:
            raise MalformedInput(
                f"cannot read a simulated root from {path}: {exc}".splitlines()[0], remedy=REMEDY
            ) from exc
    return tuple(roots)


def verify_files(
    paths: list[Path],
    policy: AttestationPolicy,
    *,
    at: datetime | None = None,
    simulated_roots: tuple = (),
    collateral: TdxCollateral | None = None,
    crl: str | None = None,
) -> list[AttestationResult]:
    """Certificates among the files serve every report; an attestation.report body also binds REPORT_DATA;
    `collateral` serves every TDX quote, and `crl` (AMD's, PEM) every SEV-SNP report, that carry none of their own."""
    files = load(paths)
    if not files.items:
        raise MalformedInput("no report or quote among the files, only certificates", remedy=REMEDY)
    results = []
    for item in files.items:
        wanted = policy
        if item.attestation is not None and policy.report_data is None:
            wanted = policy.model_copy(update={"report_data": report_data_for(item.attestation.binding).hex()})
        evidence = item.evidence
        if collateral is not None and evidence.type == "tdx" and evidence.collateral is None:
            evidence = evidence.model_copy(update={"collateral": collateral})
        if crl is not None and evidence.type != "tdx" and evidence.crl is None:
            evidence = evidence.model_copy(update={"crl": crl})
        result = verify_evidence(evidence, wanted, at=at, simulated_roots=simulated_roots, extra_certs=files.certs)
        results.append(result.model_copy(update={"source": item.source}))
    return results
