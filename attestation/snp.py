"""Verify an AMD SEV-SNP report: chain to a pinned ARK, the VCEK's claims about the chip, the signature, the policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from attestation.amd import AMD_ROOTS, Chain, Root, hwid_matches, revocation, select_chain, verify_chain
from attestation.hcl import HclReport, is_hcl, parse_hcl
from attestation.policy import DEFAULT_POLICY, AttestationPolicy, evaluate
from attestation.result import AttestationResult, Check, Claims, EvidenceType, Security, check, failed, not_checked
from attestation.snp_report import ECDSA_P384_SHA384, GuestPolicy, ReportFormatError, SnpReport, parse_report

_ECDSA_SHA384 = ec.ECDSA(hashes.SHA384())
_NO_REVOCATION = not_checked(
    "revocation", "no AMD certificate revocation list (KDS /crl) came with the evidence: revocation is not checked"
)


def _guest_policy(found: GuestPolicy, policy: AttestationPolicy) -> Check:
    """The guest policy against the contract's terms: the host chose it at launch, and MEASUREMENT omits it."""
    problems = []
    if found.migrate_ma and not policy.allow_migration_agent:
        problems.append("MIGRATE_MA is set: a migration agent the host chose at launch could export the guest's memory")
    if found.smt and not policy.allow_smt:
        problems.append("SMT is allowed, and the contract forbids it")
    if policy.single_socket and not found.single_socket:
        problems.append("SINGLE_SOCKET is clear, and the contract requires one socket")
    if policy.min_abi is not None:
        least = tuple(int(x) for x in policy.min_abi.split("."))
        if (found.abi_major, found.abi_minor) < least:
            problems.append(
                f"the minimum ABI {found.abi_major}.{found.abi_minor} is below the contract's {policy.min_abi}"
            )
    abi = f"{found.abi_major}.{found.abi_minor}"
    ma = "set (admitted)" if found.migrate_ma else "clear"
    terms = f"MIGRATE_MA {ma}, SMT {'allowed' if found.smt else 'forbidden'}, ABI {abi}"
    return check("guest-policy", not problems, f"the guest policy meets the contract: {terms}",
                 "; ".join(problems) + " (the guest policy is not part of MEASUREMENT)")  # fmt: skip


def verify_snp(
    report: bytes,
    certs: Sequence[x509.Certificate] = (),
    *,
    policy: AttestationPolicy = DEFAULT_POLICY,
    at: datetime | None = None,
    roots: tuple[Root, ...] = AMD_ROOTS,
    evidence_type: EvidenceType = "sev-snp",
    source: str = "",
    crl: str | None = None,
) -> AttestationResult:
    """Every check of issue 3 on one report (raw, or inside an Azure HCL report), at time `at` (default now);
    `crl`, AMD's for the ARK (PEM), is checked when given."""
    hcl: HclReport | None = None
    try:
        if is_hcl(report):
            hcl = parse_hcl(report)
            report = hcl.snp_report
        parsed = parse_report(report)
    except ReportFormatError as exc:
        security: Security = "insecure-simulated" if evidence_type == "simulated" else "hardware"
        return AttestationResult.of(evidence_type, security, [failed("report-format", str(exc))], Claims(), source)
    checks: list[Check] = [
        check(
            "report-format",
            parsed.signature_algo == ECDSA_P384_SHA384,
            f"SEV-SNP report version {parsed.version}, signed with ECDSA P-384",
            f"signature algorithm {parsed.signature_algo} is not ECDSA P-384 with SHA-384 (1)",
        ),
    ]
    checks.append(_guest_policy(parsed.policy, policy))
    try:
        selected = select_chain(tuple(certs), parsed.signer_info.signing_key, parsed.chip_id)
        chain = verify_chain(*selected, roots)
    except (LookupError, ValueError, UnsupportedAlgorithm) as exc:  # certificates whose contents do not parse
        chain = None
        checks.append(failed("certificate-chain", str(exc).splitlines()[0]))
    product = chain.product if chain else parsed.product_from_cpuid
    if chain:
        checks += chain.checks
        checks.append(chain.valid_at(at or datetime.now(UTC)))
        checks.append(revocation(crl, *selected, at or datetime.now(UTC)) if crl is not None else _NO_REVOCATION)
        checks += _endorsement_checks(parsed, chain)
    checks.append(report_signature(parsed, chain.public_key if chain else None))
    if hcl:
        checks.append(hcl.binding_check(parsed.report_data))
    tcb = parsed.reported_tcb(product).as_dict()
    checks += evaluate(
        policy,
        debug=parsed.policy.debug,
        vmpl=parsed.vmpl,
        tcb=tcb,
        measurement=parsed.measurement,
        host_data=parsed.host_data,
        # Under Azure's paravisor REPORT_DATA hashes the runtime claims (checked above); the guest's own 64
        # bytes, the binding document's hash, are the claims' user-data.
        report_data=hcl.user_data if hcl else parsed.report_data,
    )
    insecure = evidence_type == "simulated" or bool(chain and chain.root and chain.root.insecure)
    return AttestationResult.of(
        evidence_type, "insecure-simulated" if insecure else "hardware", checks, claims(parsed, product), source
    )


def report_signature(parsed: SnpReport, key: ec.EllipticCurvePublicKey | None) -> Check:
    """ECDSA P-384 over SHA-384 of bytes 0x000-0x29F; r and s are little-endian in the report."""
    if key is None:
        return failed("report-signature", "no usable VCEK or VLEK key to check the signature with")
    try:
        key.verify(encode_dss_signature(parsed.signature_r, parsed.signature_s), parsed.signed_bytes, _ECDSA_SHA384)
    except InvalidSignature:
        return failed("report-signature", "the report's signature does not verify under the VCEK/VLEK")
    return check("report-signature", True, "the report is signed by the endorsement key", "")


def _endorsement_checks(parsed: SnpReport, chain: Chain) -> list[Check]:
    info = chain.endorsement
    checks = []
    cpuid = parsed.product_from_cpuid
    if cpuid is not None:
        checks.append(
            check(
                "report-product",
                cpuid == chain.product,
                f"the report's CPUID says {cpuid}",
                f"the report's CPUID says {cpuid}, the certificates are {chain.product}",
            )
        )
    expected_key = parsed.signer_info.signing_key
    checks.append(
        check(
            "signing-key",
            info.kind == expected_key,
            f"signed by a {expected_key.upper()}",
            f"the report says {expected_key.upper()}, the certificate is a {info.kind.upper()}",
        )
    )
    if info.kind == "vlek":
        checks.append(not_checked("chip-id", "a VLEK is issued to a cloud provider, not bound to one chip"))
    elif parsed.signer_info.mask_chip_id:
        checks.append(not_checked("chip-id", "the guest masked CHIP_ID (MASK_CHIP_ID is set)"))
    else:
        checks.append(
            check(
                "chip-id",
                hwid_matches(info.hwid, parsed.chip_id),
                "the VCEK's HWID is the report's CHIP_ID",
                "the VCEK's HWID is not the report's CHIP_ID: a VCEK of another chip",
            )
        )
    reported = parsed.reported_tcb(chain.product).as_dict()
    differ = [f"{k} {v} (VCEK {info.spl.get(k)})" for k, v in reported.items() if info.spl.get(k) != v]
    checks.append(
        check(
            "tcb",
            not differ,
            "every TCB level in the certificate equals REPORTED_TCB",
            "REPORTED_TCB differs from the certificate: " + ", ".join(differ),
        )
    )
    checks.append(_tcb_consistency(parsed, chain.product))
    return checks


def _tcb_consistency(parsed: SnpReport, product: str | None) -> Check:
    """As go-sev-guest checks: the firmware runs at CURRENT_TCB, so neither the TCB the certificate vouches for
    (REPORTED) nor the one committed against rollback may be newer than it."""
    current = parsed.current_tcb(product).as_dict()
    newer = [
        f"{name} {field} {level} > CURRENT {current[field]}"
        for name, tcb in (("REPORTED", parsed.reported_tcb(product)), ("COMMITTED", parsed.committed_tcb(product)))
        for field, level in tcb.as_dict().items()
        if level > current.get(field, level)
    ]
    return check(
        "tcb-consistency",
        not newer,
        "REPORTED_TCB and COMMITTED_TCB are no newer than CURRENT_TCB",
        "the report's TCB levels contradict each other: " + ", ".join(newer),
    )


def claims(parsed: SnpReport, product: str | None) -> Claims:
    return Claims(
        product=product,
        version=parsed.version,
        measurement=parsed.measurement.hex(),
        host_data=parsed.host_data.hex(),
        report_data=parsed.report_data.hex(),
        tcb=parsed.reported_tcb(product).as_dict(),
        platform_id=parsed.chip_id.hex(),
        debug=parsed.policy.debug,
        vmpl=parsed.vmpl,
        signing_key=parsed.signer_info.signing_key,
        extra={
            "guest_svn": str(parsed.guest_svn),
            "policy": f"{parsed.policy.raw:#x}",
            "abi": f"{parsed.policy.abi_major}.{parsed.policy.abi_minor}",
            "smt_allowed": str(parsed.policy.smt),
            "migrate_ma": str(parsed.policy.migrate_ma),
            "single_socket": str(parsed.policy.single_socket),
            "family_id": parsed.family_id.hex(),
            "image_id": parsed.image_id.hex(),
            "platform_info": f"{parsed.platform_info.raw:#x}",
            "signer_info": f"{parsed.signer_info.raw:#x}",
            "current_tcb": _tcb_text(parsed.current_tcb(product).as_dict()),
            "committed_tcb": _tcb_text(parsed.committed_tcb(product).as_dict()),
            "launch_tcb": _tcb_text(parsed.launch_tcb(product).as_dict()),
            "firmware": "{}.{}.{}".format(*parsed.current_version),
            "id_key_digest": parsed.id_key_digest.hex(),
            "author_key_digest": parsed.author_key_digest.hex(),
            "report_id": parsed.report_id.hex(),
            **(
                {"cpuid": f"{parsed.cpuid_family:#x}/{parsed.cpuid_model:#x}/{parsed.cpuid_stepping:#x}"}
                if parsed.cpuid_family is not None
                else {}
            ),
        },
    )


def _tcb_text(tcb: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in tcb.items())
