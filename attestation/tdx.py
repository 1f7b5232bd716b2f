"""Verify an Intel TDX quote: PCK chain to the pinned Intel SGX root, QE report, its binding, the quote signature,
and that the enclave which signed the QE report is Intel's TD Quoting Enclave.

Intel's PCE certifies any local enclave that holds the PROVISION_KEY attribute, so a PCK signature on a QE
report proves only "some enclave on a genuine platform": without the QE's identity, a host could run its own
"QE" and sign TD quotes with any MRTD and REPORT_DATA. The identity is pinned here as Intel's QE-identity
collateral for TDX names it. TCB-info and the signed QE identity (Intel PCS collateral, never fetched here) are
checked when the evidence carries them (attestation/intel_collateral.py); without them the TCB status is
reported unknown, and a policy that demands one fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from attestation import der
from attestation.ccel import replay_check
from attestation.certificates import Window, common_name, fingerprint, load_certificates, valid_at, windows
from attestation.intel_collateral import Platform, not_given, verify_collateral
from attestation.policy import DEFAULT_POLICY, AttestationPolicy, evaluate
from attestation.result import AttestationResult, Check, Claims, check, failed, not_checked, passed
from attestation.tdx_quote import QeReport, QuoteFormatError, TdxQuote, parse_quote
from schemas.statement import TdxCollateral

# SHA-256 of the DER of the Intel SGX Root CA (shared/testdata/README.md).
INTEL_SGX_ROOT = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"
_SGX_EXTENSIONS = x509.ObjectIdentifier("1.2.840.113741.1.13.1")
_PPID, _FMSPC = "1.2.840.113741.1.13.1.1", "1.2.840.113741.1.13.1.4"
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())

# Intel's TD Quoting Enclave ("TD_QE" in Intel PCS's /tdx/certification/v4/qe/identity): its signer, product id,
# the attributes under their mask (DEBUG, bit 1, must be clear) and MISCSELECT. Both public samples carry it.
TD_QE_MRSIGNER = "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5"
TD_QE_ISVPRODID = 2
TD_QE_ATTRIBUTES = bytes.fromhex("11000000000000000000000000000000")
TD_QE_ATTRIBUTES_MASK = bytes.fromhex("fbffffffffffffff0000000000000000")
# The lowest TD-QE security version Intel's QE identity lists as UpToDate when this was written; older QEs have
# known vulnerabilities. A signed QE-identity document, when given, would carry the current figure.
TD_QE_MIN_ISVSVN = 4


_NO_EVENT_LOG = not_checked("event-log", "no CC event log came with the quote: what RTMR0-3 measured is not shown")


@dataclass(frozen=True, slots=True)
class PckChain:
    pck_key: ec.EllipticCurvePublicKey | None
    checks: tuple[Check, ...]
    windows: tuple[Window, ...]
    platform: dict[str, str]
    certs: tuple[x509.Certificate, ...] = ()


def verify_tdx(
    quote: bytes,
    *,
    policy: AttestationPolicy = DEFAULT_POLICY,
    at: datetime | None = None,
    source: str = "",
    root: str = INTEL_SGX_ROOT,
    collateral: TdxCollateral | None = None,
    event_log: bytes | None = None,
) -> AttestationResult:
    """`root` is the SHA-256 of the root certificate's DER: Intel's, unless a test PKI stands in for it.
    `collateral`, Intel's for this platform, gives the TCB status the policy may demand."""
    try:
        parsed = parse_quote(quote)
    except QuoteFormatError as exc:
        return AttestationResult.of("tdx", "hardware", [failed("quote-format", str(exc))], Claims(), source)
    checks = [passed("quote-format", f"TDX quote v{parsed.version}, ECDSA P-256 attestation key")]
    try:
        chain = _pck_chain(parsed.pck_chain_pem, root)
    except (ValueError, UnsupportedAlgorithm) as exc:  # a certificate that parses but holds no usable key
        chain = PckChain(pck_key=None, checks=(failed("pck-chain", str(exc)),), windows=(), platform={})
    checks += chain.checks
    if chain.windows:
        checks.append(valid_at(chain.windows, at or datetime.now(UTC)))
    checks += [
        _signed(
            chain.pck_key,
            parsed.qe_report_signature,
            parsed.qe_report.raw,
            "qe-report-signature",
            "the QE report is signed by the PCK key",
            "the QE report's signature does not verify under the PCK key",
        ),
        _qe_binding(parsed),
        _qe_identity(parsed.qe_report),
        _signed(
            _attestation_key(parsed.attestation_key),
            parsed.signature,
            parsed.signed_bytes,
            "quote-signature",
            "the quote is signed by the attestation key the QE vouches for",
            "the quote's signature does not verify under its attestation key",
        ),
    ]
    td = parsed.report
    checks += _tcb_status(collateral, chain, parsed, at or datetime.now(UTC), root, policy.tcb_status)
    checks += [
        check(
            "sept-ve-disable",
            td.sept_ve_disable,
            "SEPT_VE_DISABLE is set: the host cannot inject #VE through EPT violations",
            "SEPT_VE_DISABLE is clear: the host can raise #VE inside the TD at pages of its choosing",
        ),
        _service_td(td.mrservicetd, policy.service_tds),
        _rtmrs(td.rtmrs, policy.rtmrs),
        replay_check(event_log, td.rtmrs) if event_log is not None else _NO_EVENT_LOG,
    ]
    checks += evaluate(
        policy,
        debug=td.debug,
        vmpl=None,
        tcb=None,
        measurement=td.mrtd,
        host_data=td.mrconfigid,
        report_data=td.report_data,
        host_data_name="MRCONFIGID",
    )
    return AttestationResult.of("tdx", "hardware", checks, _claims(parsed, chain.platform), source)


def _tcb_status(
    collateral: TdxCollateral | None, chain: PckChain, parsed: TdxQuote, at: datetime, root: str,
    admitted: Sequence[str] | None,
) -> list[Check]:  # fmt: skip
    if collateral is None:
        return [not_given(admitted)]
    if len(chain.certs) != 3 or "fmspc" not in chain.platform:
        return [failed("tcb-status", "the PCK chain does not name the platform the collateral would describe")]
    platform = Platform.of(list(chain.certs), chain.platform["fmspc"], parsed.report, parsed.qe_report)
    return verify_collateral(collateral, platform, at, root, admitted)


def _signed(
    key: ec.EllipticCurvePublicKey | None, raw_sig: bytes, data: bytes, name: str, good: str, bad: str
) -> Check:
    """ECDSA P-256 over SHA-256, the signature as 32-byte big-endian r then s."""
    if key is None:
        return failed(name, "no usable key to check this signature with")
    signature = encode_dss_signature(int.from_bytes(raw_sig[:32], "big"), int.from_bytes(raw_sig[32:], "big"))
    try:
        key.verify(signature, data, _ECDSA_SHA256)
    except InvalidSignature:
        return failed(name, bad)
    return passed(name, good)


def _attestation_key(raw: bytes) -> ec.EllipticCurvePublicKey | None:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + raw)
    except ValueError:
        return None


def _service_td(mrservicetd: bytes, allowed: list[str]) -> Check:
    if not any(mrservicetd):
        return passed("service-td", "no service TD is bound to this TD (MRSERVICETD is zero)")
    return check(
        "service-td",
        mrservicetd.hex() in allowed,
        f"MRSERVICETD {mrservicetd.hex()[:16]}... is a service TD the policy admits",
        f"MRSERVICETD {mrservicetd.hex()[:16]}... names a service TD (one that can read this TD) the policy "
        "does not admit (ccr.service_tds)",
    )


def _rtmrs(found: tuple[bytes, ...], pinned: dict[Literal["0", "1", "2", "3"], list[str]]) -> Check:
    if not pinned:
        return not_checked("rtmr", "the policy pins no RTMR: the boot after the firmware (kernel, initrd, "
                           "command line) is not constrained")  # fmt: skip
    wrong = [f"RTMR{i} {found[int(i)].hex()[:16]}..." for i, values in sorted(pinned.items())
             if found[int(i)].hex() not in values]  # fmt: skip
    return check("rtmr", not wrong, f"RTMR{', RTMR'.join(sorted(pinned))} are values the policy admits",
                 f"{', '.join(wrong)} not admitted by the policy (ccr.rtmrs)")  # fmt: skip


def _qe_identity(qe: QeReport) -> Check:
    """The QE report comes from Intel's TD Quoting Enclave, not from another enclave the PCE certified."""
    attributes = qe.raw[48:64]
    problems = []
    if qe.mrsigner.hex() != TD_QE_MRSIGNER:
        problems.append(f"MRSIGNER {qe.mrsigner.hex()[:16]}... is not Intel's ({TD_QE_MRSIGNER[:16]}...)")
    if qe.isv_prod_id != TD_QE_ISVPRODID:
        problems.append(f"ISVPRODID {qe.isv_prod_id} is not the TD-QE's {TD_QE_ISVPRODID}")
    if bytes(a & m for a, m in zip(attributes, TD_QE_ATTRIBUTES_MASK, strict=True)) != TD_QE_ATTRIBUTES:
        debug = " (DEBUG is set)" if attributes[0] & 0x02 else ""
        problems.append(f"attributes {attributes.hex()} are not the TD-QE's{debug}")
    if qe.raw[16:20] != bytes(4):
        problems.append(f"MISCSELECT {qe.raw[16:20].hex()} is not 0")
    if qe.isv_svn < TD_QE_MIN_ISVSVN:
        problems.append(f"ISVSVN {qe.isv_svn} is below {TD_QE_MIN_ISVSVN}, the lowest Intel lists as up to date")
    return check(
        "qe-identity",
        not problems,
        f"the QE report comes from Intel's TD Quoting Enclave (ISVSVN {qe.isv_svn})",
        "the QE report does not come from Intel's TD Quoting Enclave: " + "; ".join(problems),
    )


def _qe_binding(parsed: TdxQuote) -> Check:
    """The QE vouches for the attestation key: its REPORT_DATA is SHA-256(key || QE auth data), then zeros."""
    expected = hashlib.sha256(parsed.attestation_key + parsed.qe_auth_data).digest() + bytes(32)
    return check(
        "qe-report-binding",
        parsed.qe_report.report_data == expected,
        "the QE report binds the attestation key",
        "the QE report does not bind the attestation key",
    )


@lru_cache(maxsize=64)
def _pck_chain(pem: bytes, root_pin: str) -> PckChain:
    try:
        certs = load_certificates(pem)
    except ValueError as exc:
        raise ValueError(f"the PCK certificate chain does not parse: {exc}") from exc
    if len(certs) != 3:
        raise ValueError(f"the PCK chain has {len(certs)} certificates, not PCK, intermediate CA and root")
    pck, ca, root = certs
    pin = fingerprint(root)
    key = pck.public_key()
    checks = (
        check(
            "root-pinned",
            pin == root_pin,
            f"{common_name(root)} is the pinned Intel SGX root",
            f"{common_name(root)} (SHA-256 {pin[:16]}...) is not the pinned Intel SGX Root CA",
        ),
        _issued("root-self-signed", root, root),
        _issued("intermediate-signed", ca, root),
        _issued("pck-signed", pck, ca),
    )
    platform = _platform(pck)
    return PckChain(
        pck_key=key if isinstance(key, ec.EllipticCurvePublicKey) else None,
        checks=checks,
        windows=windows(certs),
        platform=platform,
        certs=tuple(certs),
    )


def _issued(name: str, cert: x509.Certificate, issuer: x509.Certificate) -> Check:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return failed(name, f"{common_name(cert)} is not signed by {common_name(issuer)}")
    return passed(name, f"{common_name(cert)} is signed by {common_name(issuer)}")


def _platform(pck: x509.Certificate) -> dict[str, str]:
    """PPID and FMSPC from Intel's SGX extension: a SEQUENCE of (OID, value) pairs."""
    try:
        ext = pck.extensions.get_extension_for_oid(_SGX_EXTENSIONS).value
        assert isinstance(ext, x509.UnrecognizedExtension)  # cryptography parses no SGX extension
        raw = ext.value
        found = {}
        for _, item in der.children(der.expect(raw, der.SEQUENCE)):
            (oid_tag, oid_value), (tag, value) = list(der.children(item))[:2]
            if oid_tag == der.OID and tag == der.OCTET_STRING:
                found[der.oid(oid_value)] = value.hex()
    except (x509.ExtensionNotFound, der.DerError, ValueError):
        return {}
    return {name: found[oid] for name, oid in (("ppid", _PPID), ("fmspc", _FMSPC)) if oid in found}


def _claims(parsed: TdxQuote, platform: dict[str, str]) -> Claims:
    td = parsed.report
    return Claims(
        product=f"TDX (quote v{parsed.version})",
        version=parsed.version,
        measurement=td.mrtd.hex(),
        host_data=td.mrconfigid.hex(),
        report_data=td.report_data.hex(),
        platform_id=platform.get("ppid"),
        debug=td.debug,
        rtmrs=[r.hex() for r in td.rtmrs],
        extra={
            "mrseam": td.mrseam.hex(),
            "mrsignerseam": td.mrsignerseam.hex(),
            "mrowner": td.mrowner.hex(),
            "mrownerconfig": td.mrownerconfig.hex(),
            "td_attributes": f"{td.td_attributes:#018x}",
            "xfam": td.xfam.hex(),
            "tee_tcb_svn": td.tee_tcb_svn.hex(),
            "qe_mrsigner": parsed.qe_report.mrsigner.hex(),
            "qe_isv_svn": str(parsed.qe_report.isv_svn),
            **platform,
        },
    )
