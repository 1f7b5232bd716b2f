"""Intel's collateral for a TDX quote: the TCB-info and QE-identity documents, each signed by Intel SGX TCB Signing
under the pinned Intel SGX root, and the PCK CRLs. From them, the platform's TCB status and its advisories.

The matching follows Intel's Quote Verification Library as dcap-qvl implements it: the first TCB level whose SGX
components and PCESVN the PCK certificate meets and whose TDX components TEE_TCB_SVN meets (from its third byte
on when a TDX module identity applies) gives the platform's status; the TDX module's identity and the QE's
identity give their own, and the worst of the three is the TCB's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from attestation import der
from attestation.certificates import common_name, fingerprint, load_certificates, valid_at, windows
from attestation.result import Check, check, failed, not_checked, passed
from attestation.tdx_quote import QeReport, TdReport
from schemas.statement import TdxCollateral

_TCB, _PCEID = "1.2.840.113741.1.13.1.2", "1.2.840.113741.1.13.1.3"
_SGX_EXTENSIONS = x509.ObjectIdentifier("1.2.840.113741.1.13.1")
# Intel's statuses, best first; a TCB is as good as the worst of its platform, TDX module and QE.
STATUSES = (
    "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate",
    "OutOfDateConfigurationNeeded", "Revoked",
)  # fmt: skip


class CollateralError(ValueError):
    pass


@dataclass(frozen=True)
class Platform:
    """What the quote's PCK certificate and TD report say of the platform the collateral must describe."""

    pck: x509.Certificate
    ca: x509.Certificate
    root: x509.Certificate
    fmspc: str
    tee_tcb_svn: bytes
    mrsignerseam: bytes
    qe: QeReport

    @classmethod
    def of(cls, certs: list[x509.Certificate], fmspc: str, td: TdReport, qe: QeReport) -> Platform:
        pck, ca, root = certs
        return cls(pck, ca, root, fmspc, td.tee_tcb_svn, td.mrsignerseam, qe)


def verify_collateral(
    collateral: TdxCollateral, platform: Platform, at: datetime, root_pin: str, admitted: Sequence[str] | None
) -> list[Check]:
    """The collateral's signatures, currency and fit to this platform, the CRLs, and the TCB status it gives."""
    try:
        tcb_info = _signed_document(collateral.tcb_info, collateral.tcb_info_signature,
                                    collateral.tcb_info_issuer_chain, root_pin, at, "TCB-info")  # fmt: skip
        qe_identity = _signed_document(collateral.qe_identity, collateral.qe_identity_signature,
                                       collateral.qe_identity_issuer_chain, root_pin, at, "QE identity")  # fmt: skip
    except CollateralError as exc:
        return [failed("collateral-signed", str(exc))]
    checks = [passed("collateral-signed", "TCB-info and QE identity are signed by Intel SGX TCB Signing under the "
                     "pinned Intel SGX root")]  # fmt: skip
    try:
        checks += [
            _current(tcb_info, qe_identity, at),
            _fits(tcb_info, platform),
            _crls(collateral, platform),
        ]
        statuses = [_platform_status(tcb_info, platform), _module_status(tcb_info, platform),
                    _qe_status(qe_identity, platform.qe)]  # fmt: skip
    except (AttributeError, KeyError, TypeError, ValueError, der.DerError) as exc:
        return [*checks, failed("tcb-status", f"the collateral does not read as Intel's: {type(exc).__name__}: {exc}")]
    return [*checks, _status(statuses, admitted)]


def not_given(admitted: Sequence[str] | None) -> Check:
    """No collateral came with the quote: a status the contract demands fails; else it is reported unknown."""
    if admitted is not None:
        return failed("tcb-status", f"the policy admits TCB status {', '.join(admitted)} only, and no Intel "
                      "collateral came with the quote to read it from")  # fmt: skip
    return not_checked("tcb-status", "no Intel collateral came with the quote: whether this platform's TCB is up "
                       "to date is unknown")  # fmt: skip


def _signed_document(
    text: str, signature: str, chain_pem: str, root_pin: str, at: datetime, what: str
) -> dict[str, Any]:
    try:
        certs = load_certificates(chain_pem.encode())
    except ValueError as exc:
        raise CollateralError(f"the {what} issuer chain does not parse: {exc}") from None
    if len(certs) != 2:
        raise CollateralError(f"the {what} issuer chain has {len(certs)} certificates, not TCB Signing and root")
    signing, root = certs
    if fingerprint(root) != root_pin:
        raise CollateralError(f"the {what} issuer chain ends at {common_name(root)}, not the pinned Intel SGX root")
    window = valid_at(windows(certs), at)
    if window.status != "pass":
        raise CollateralError(f"the {what} issuer chain: {window.reason}")
    raw = bytes.fromhex(signature)
    try:
        signing.verify_directly_issued_by(root)
        key = signing.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise CollateralError(f"{common_name(signing)} holds no ECDSA key")
        der_sig = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.verify(der_sig, text.encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        raise CollateralError(f"the {what} signature does not verify under {common_name(signing)}") from None
    try:
        document = json.loads(text)
    except ValueError:
        raise CollateralError(f"the signed {what} is not JSON") from None
    if not isinstance(document, dict):
        raise CollateralError(f"the signed {what} is not a JSON object")
    return document


def _current(tcb_info: dict[str, Any], qe_identity: dict[str, Any], at: datetime) -> Check:
    stale = []
    for name, doc in (("TCB-info", tcb_info), ("QE identity", qe_identity)):
        issued, next_update = _time(doc["issueDate"]), _time(doc["nextUpdate"])
        if not issued <= at < next_update:
            stale.append(f"{name} (issued {doc['issueDate']}, next update {doc['nextUpdate']})")
    return check("collateral-current", not stale, "the collateral is current",
                 f"the collateral is not current at {at:%Y-%m-%dT%H:%M:%SZ}: {'; '.join(stale)}")  # fmt: skip


def _fits(tcb_info: dict[str, Any], platform: Platform) -> Check:
    theirs = str(tcb_info["fmspc"]).lower()
    return check(
        "collateral-platform",
        tcb_info.get("id") == "TDX" and theirs == platform.fmspc,
        f"the TCB-info is TDX's for this platform's FMSPC {platform.fmspc}",
        f"the TCB-info ({tcb_info.get('id')}) is for FMSPC {theirs}, not this platform's {platform.fmspc}",
    )


def _crls(collateral: TdxCollateral, platform: Platform) -> Check:
    if collateral.pck_crl is None and collateral.root_ca_crl is None:
        return not_checked("pck-crl", "no PCK CRL came with the collateral: revocation is not checked")
    problems = []
    lists = [
        ("PCK CRL", collateral.pck_crl, platform.ca, platform.pck),
        ("root CA CRL", collateral.root_ca_crl, platform.root, platform.ca),
    ]
    for name, crl_hex, issuer, cert in lists:
        if crl_hex is None:
            continue
        crl = x509.load_der_x509_crl(bytes.fromhex(crl_hex))
        if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            problems.append(f"the {name} is not signed by {common_name(issuer)}")
        elif crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            problems.append(f"{common_name(cert)} is revoked by the {name}")
    return check("pck-crl", not problems, "no certificate of the PCK chain is revoked", "; ".join(problems))


def _pck_tcb(pck: x509.Certificate) -> tuple[list[int], int]:
    """The SGX TCB components (16 SVNs) and PCESVN the PCK certificate records."""
    raw = pck.extensions.get_extension_for_oid(_SGX_EXTENSIONS).value.value  # type: ignore[attr-defined]
    for _, item in der.children(der.expect(raw, der.SEQUENCE)):
        (_, oid_value), (tag, value) = list(der.children(item))[:2]
        if der.oid(oid_value) == _TCB and tag == der.SEQUENCE:
            svns = {}
            for _, pair in der.children(value):
                (_, inner_oid), (inner_tag, inner) = list(der.children(pair))[:2]
                if inner_tag == der.INTEGER:
                    svns[int(der.oid(inner_oid).rsplit(".", 1)[1])] = int.from_bytes(inner, "big")
            return [svns[i] for i in range(1, 17)], svns[17]
    raise ValueError("the PCK certificate records no TCB")


def _platform_status(tcb_info: dict[str, Any], platform: Platform) -> tuple[str, str, list[str]]:
    components, pcesvn = _pck_tcb(platform.pck)
    start = 2 if platform.tee_tcb_svn[1] > 0 else 0  # a TDX module identity covers the first two bytes
    for level in tcb_info["tcbLevels"]:
        tcb = level["tcb"]
        sgx = [c["svn"] for c in tcb["sgxtcbcomponents"]]
        tdx = [c["svn"] for c in tcb["tdxtcbcomponents"]]
        if (
            all(have >= need for have, need in zip(components, sgx, strict=True))
            and pcesvn >= tcb["pcesvn"]
            and all(platform.tee_tcb_svn[i] >= tdx[i] for i in range(start, 16))
        ):
            return "platform", level["tcbStatus"], list(level.get("advisoryIDs", []))
    return "platform", "Unrecognized", []


def _module_status(tcb_info: dict[str, Any], platform: Platform) -> tuple[str, str, list[str]]:
    if platform.tee_tcb_svn[1] == 0:
        signer = tcb_info.get("tdxModule", {}).get("mrsigner", "")
        return "TDX module", "UpToDate" if signer.lower() == platform.mrsignerseam.hex() else "Unrecognized", []
    wanted = f"TDX_{platform.tee_tcb_svn[1]:02X}"
    identity = next((m for m in tcb_info.get("tdxModuleIdentities", []) if m["id"] == wanted), None)
    if identity is None or identity["mrsigner"].lower() != platform.mrsignerseam.hex():
        return "TDX module", "Unrecognized", []
    return "TDX module", *_by_isvsvn(identity["tcbLevels"], platform.tee_tcb_svn[0])


def _qe_status(identity: dict[str, Any], qe: QeReport) -> tuple[str, str, list[str]]:
    misc, misc_mask = int(identity["miscselect"], 16), int(identity["miscselectMask"], 16)
    attributes, mask = bytes.fromhex(identity["attributes"]), bytes.fromhex(identity["attributesMask"])
    own = bytes(a & m for a, m in zip(qe.raw[48:64], mask, strict=True))
    same = (
        identity.get("id") == "TD_QE"
        and identity["mrsigner"].lower() == qe.mrsigner.hex()
        and identity["isvprodid"] == qe.isv_prod_id
        and int.from_bytes(qe.raw[16:20], "little") & misc_mask == misc
        and own == attributes
    )
    return ("QE", *_by_isvsvn(identity["tcbLevels"], qe.isv_svn)) if same else ("QE", "Unrecognized", [])


def _by_isvsvn(levels: list[dict[str, Any]], isvsvn: int) -> tuple[str, list[str]]:
    level = next((lv for lv in levels if isvsvn >= lv["tcb"]["isvsvn"]), None)
    return (level["tcbStatus"], list(level.get("advisoryIDs", []))) if level else ("Unrecognized", [])


def _status(parts: list[tuple[str, str, list[str]]], admitted: Sequence[str] | None) -> Check:
    unknown = [f"the {part}'s" for part, status, _ in parts if status not in STATUSES]
    if unknown:
        return failed("tcb-status", f"the collateral lists no TCB level that {', '.join(unknown)} TCB meets")
    worst = max((status for _, status, _ in parts), key=STATUSES.index)
    if worst == "OutOfDate" and any("Configuration" in status for _, status, _ in parts):
        worst = "OutOfDateConfigurationNeeded"
    advisories = sorted({a for _, _, found in parts for a in found})
    said = f"TCB status {worst}" + (f" (advisories {', '.join(advisories)})" if advisories else "")
    if worst == "Revoked":
        return failed("tcb-status", f"{said}: the platform's keys are revoked")
    if admitted is not None and worst not in admitted:
        return failed("tcb-status", f"{said}, which the policy does not admit ({', '.join(admitted)})")
    return passed("tcb-status", said)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
