"""TDX DCAP quotes verify to the pinned Intel SGX root; collateral left unchecked is said plainly."""

from __future__ import annotations

import base64
import struct
from datetime import UTC, datetime

import pytest

from attestation.policy import AttestationPolicy
from attestation.result import AttestationResult, Status
from attestation.tdx import verify_tdx
from attestation.tdx_quote import QuoteFormatError, parse_quote
from tests.attestation.samples import tdx_quote
from tests.attestation.tdx_forge import StandInPki

ALLOW_DEBUG = AttestationPolicy(allow_debug=True)


def failures(result: AttestationResult) -> set[str]:
    return {c.name for c in result.failures}


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def test_the_v4_sample_verifies() -> None:
    result = verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG)
    assert result.verified, [c.reason for c in result.failures]


def test_the_v4_sample_is_a_debug_td() -> None:
    assert failures(verify_tdx(tdx_quote(4))) == {"debug"}


# The v5 sample is bound to a service TD (a migration TD can read it): admitted only when named.
V5_SERVICE_TD = AttestationPolicy(service_tds=[parse_quote(tdx_quote(5)).report.mrservicetd.hex()])


def test_the_v5_sample_verifies_once_its_service_td_is_admitted() -> None:
    result = verify_tdx(tdx_quote(5), policy=V5_SERVICE_TD)
    assert result.verified, [c.reason for c in result.failures]
    assert result.claims.product == "TDX (quote v5)"


def test_a_td_bound_to_a_service_td_nobody_admitted_is_refused() -> None:
    assert failures(verify_tdx(tdx_quote(5))) == {"service-td"}


def test_a_td_whose_host_can_inject_ve_is_refused(pki: StandInPki) -> None:
    forged = pki.quote(td_attributes=0x00000001)  # DEBUG as the v4 sample, SEPT_VE_DISABLE clear
    assert failures(verify_tdx(forged, policy=ALLOW_DEBUG, root=pki.root_pin)) == {"sept-ve-disable"}


def test_the_result_says_plainly_that_collateral_was_not_checked() -> None:
    checks = {c.name: c for c in verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG).checks}
    assert checks["tcb-status"].status == Status.NOT_CHECKED
    assert "no Intel collateral came with the quote" in checks["tcb-status"].reason


@pytest.mark.parametrize("version", [4, 5])
def test_both_samples_come_from_intels_td_quoting_enclave(version: int) -> None:
    checks = {c.name: c for c in verify_tdx(tdx_quote(version), policy=ALLOW_DEBUG).checks}
    assert checks["qe-identity"].status == Status.PASS


# --- a host's own "QE", certified by a genuine PCK (a test PKI stands in for Intel's) -------------------------


@pytest.fixture(scope="module")
def pki() -> StandInPki:
    return StandInPki()


def test_a_quote_from_the_test_pki_with_intels_qe_identity_verifies(pki: StandInPki) -> None:
    """The control: the forge is faithful, so each refusal below is the QE identity's alone."""
    result = verify_tdx(pki.quote(), policy=ALLOW_DEBUG, root=pki.root_pin)
    assert result.verified, [c.reason for c in result.failures]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"mrsigner": "ab" * 32}, "MRSIGNER abababababababab... is not Intel's"),
        ({"isv_prod_id": 1}, "ISVPRODID 1 is not the TD-QE's 2"),
        ({"attributes": bytes.fromhex("1700000000000000e700000000000000")}, "(DEBUG is set)"),
        ({"isv_svn": 3}, "ISVSVN 3 is below 4"),
    ],
)
def test_a_quote_signed_by_a_rogue_qe_is_refused(pki: StandInPki, change: dict, says: str) -> None:
    forged = pki.quote(mrtd=b"\x42" * 48, report_data=b"\x24" * 64, **change)
    result = verify_tdx(forged, policy=ALLOW_DEBUG, root=pki.root_pin)
    assert failures(result) == {"qe-identity"} and says in result.failures[0].reason


def test_the_quote_body_is_parsed() -> None:
    quote = parse_quote(tdx_quote(4))
    body = tdx_quote(4)[48 : 48 + 584]
    assert quote.report.mrtd == body[136:184]
    assert quote.report.rtmrs[3] == body[472:520]
    assert quote.report.report_data == body[520:584]


def test_the_claims_carry_the_platform_from_the_pck_certificate() -> None:
    claims = verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG).claims
    assert claims.platform_id is not None and len(claims.platform_id) == 32
    assert len(claims.extra["fmspc"]) == 12
    assert len(claims.rtmrs) == 4


# Offsets in the v4 sample and the checks a flipped bit there must fail.
_SIG = 48 + 584 + 4
_QE = _SIG + 128 + 6
REGIONS = {
    "header": (10, {"quote-signature"}),
    "mrtd": (48 + 136, {"quote-signature"}),
    "report_data": (48 + 520, {"quote-signature"}),
    "quote_signature": (_SIG, {"quote-signature"}),
    "attestation_key": (_SIG + 64, {"qe-report-binding", "quote-signature"}),
    "qe_report": (_QE + 10, {"qe-report-signature"}),
    "qe_report_data": (_QE + 320, {"qe-report-signature", "qe-report-binding"}),
    "qe_report_signature": (_QE + 384, {"qe-report-signature"}),
    "qe_auth_data": (_QE + 450, {"qe-report-binding"}),
}


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_a_bit_flip_fails_with_the_reason_named(region: str) -> None:
    offset, expected = REGIONS[region]
    result = verify_tdx(flip(tdx_quote(4), offset), policy=ALLOW_DEBUG)
    assert failures(result) == expected


def test_a_changed_pck_certificate_fails() -> None:
    quote = tdx_quote(4)
    at = quote.index(b"-----BEGIN CERTIFICATE-----") + 200
    result = verify_tdx(flip(quote, at), policy=ALLOW_DEBUG)
    assert not result.verified
    assert failures(result) & {"pck-chain", "pck-signed", "qe-report-signature"}


def test_expired_pck_certificates_fail() -> None:
    result = verify_tdx(tdx_quote(4), policy=ALLOW_DEBUG, at=datetime(2031, 1, 1, tzinfo=UTC))
    assert failures(result) == {"certificates-valid"}


def test_an_unknown_quote_version_is_refused_by_name() -> None:
    quote = bytearray(tdx_quote(4))
    quote[0:2] = struct.pack("<H", 3)
    with pytest.raises(QuoteFormatError, match="unsupported TDX quote version 3"):
        parse_quote(bytes(quote))
    assert "unsupported TDX quote version 3" in verify_tdx(bytes(quote)).failures[0].reason


@pytest.mark.parametrize("size", [10, 48 + 100, 700, 4000])
def test_a_truncated_quote_fails_the_format_check(size: int) -> None:
    assert failures(verify_tdx(tdx_quote(4)[:size])) == {"quote-format"}


def test_an_sgx_quote_is_not_a_tdx_quote() -> None:
    quote = bytearray(tdx_quote(4))
    quote[4:8] = struct.pack("<I", 0)
    assert "is not TDX" in verify_tdx(bytes(quote)).failures[0].reason


def test_mrtd_is_the_measurement_the_policy_allowlists() -> None:
    mrtd = parse_quote(tdx_quote(5)).report.mrtd.hex()
    pinned = V5_SERVICE_TD.model_copy(update={"measurements": [mrtd]})
    assert verify_tdx(tdx_quote(5), policy=pinned).verified
    other = V5_SERVICE_TD.model_copy(update={"measurements": ["00" * 48]})
    assert failures(verify_tdx(tdx_quote(5), policy=other)) == {"measurement"}


def test_a_pck_certificate_on_an_unknown_curve_fails_the_chain_without_raising() -> None:
    quote = tdx_quote(4)
    start = quote.index(b"-----BEGIN CERTIFICATE-----")
    end = quote.index(b"-----END CERTIFICATE-----", start) + len(b"-----END CERTIFICATE-----")
    body = b"".join(quote[start:end].splitlines()[1:-1])
    der = bytearray(base64.b64decode(body))
    prime256v1 = bytes.fromhex("06082a8648ce3d030107")
    at = der.index(prime256v1) + len(prime256v1) - 1
    der[at] = 0x09  # an OID no library knows
    pem = base64.encodebytes(bytes(der)).replace(b"\n", b"")
    lines = b"\n".join(pem[i : i + 64] for i in range(0, len(pem), 64))
    forged = quote[:start] + b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n" + quote[end - 25 :]
    assert len(forged) == len(quote)
    result = verify_tdx(forged, policy=ALLOW_DEBUG)
    assert not result.verified
