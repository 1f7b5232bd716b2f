"""Whatever bytes arrive, the verifiers answer with a failed check, never an exception."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from attestation import der
from attestation.evidence import verify_evidence
from attestation.policy import AttestationPolicy
from attestation.snp import verify_snp
from attestation.tdx import verify_tdx
from schemas.encoding import b64
from schemas.statement import Evidence
from tests.attestation.samples import (
    SAMPLE_TIME,
    SNP_SETS,
    pck_chain_der,
    pem_of,
    snp_sample,
    tdx_quote,
    tdx_with_pck_chain,
)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_never_a_verified_snp_report(data: bytes) -> None:
    assert not verify_snp(data, []).verified


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1183), st.integers(0, 255)), min_size=1, max_size=8))
def test_a_mutated_snp_report_never_verifies_unless_unchanged(edits: list[tuple[int, int]]) -> None:
    sample = snp_sample("trustee_milan")
    data = bytearray(sample.report)
    for offset, value in edits:
        data[offset] = value
    result = verify_snp(bytes(data), sample.certs, policy=AttestationPolicy(allow_debug=True), at=SAMPLE_TIME)
    # Only the reserved tail after the signature's r and s is outside what is signed or checked.
    touched = {o for o, _ in edits if data[o] != sample.report[o] and o < 0x330}
    assert result.verified == (not touched)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 4935), st.integers(1, 255))
def test_a_mutated_tdx_quote_is_answered_with_checks(offset: int, xor: int) -> None:
    data = bytearray(tdx_quote(4))
    data[offset] ^= xor
    result = verify_tdx(bytes(data), policy=AttestationPolicy(allow_debug=True))
    assert result.checks


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=48, max_size=5000))
def test_arbitrary_bytes_with_a_tdx_header_never_verify(tail: bytes) -> None:
    quote = tdx_quote(4)[:48] + tail
    assert not verify_tdx(quote).verified


PPID_OID = bytes.fromhex("060a2a864886f84d010d0101")  # 1.2.840.113741.1.13.1.1 inside Intel's SGX extension


def test_a_pck_certificate_with_an_unterminated_oid_is_a_failed_check() -> None:
    """The attack that once stopped the sequencer: every byte of an OID with its continuation bit set."""
    quote = tdx_quote(4)
    pck, *rest = pck_chain_der(quote)
    assert PPID_OID in pck
    forged = pck.replace(PPID_OID, PPID_OID[:2] + b"\x81" * (len(PPID_OID) - 2))
    result = verify_tdx(tdx_with_pck_chain(quote, pem_of([forged, *rest])), policy=AttestationPolicy(allow_debug=True))
    assert not result.verified and "pck-signed" in {c.name for c in result.failures}


@pytest.mark.parametrize("value", [b"", b"\x81", b"\x2a\x86", b"\x2a\x80\x01"])
def test_der_refuses_empty_truncated_and_non_minimal_oids(value: bytes) -> None:
    with pytest.raises(der.DerError):
        der.oid(value)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2), st.data())
def test_a_mutated_pck_certificate_is_answered_with_checks(which: int, data: st.DataObject) -> None:
    quote = tdx_quote(4 + which % 2)
    ders = pck_chain_der(quote)
    cert = bytearray(ders[which])
    for _ in range(data.draw(st.integers(1, 4))):
        cert[data.draw(st.integers(0, len(cert) - 1))] = data.draw(st.integers(0, 255))
    ders[which] = bytes(cert)
    result = verify_tdx(tdx_with_pck_chain(quote, pem_of(ders)), policy=AttestationPolicy(allow_debug=True))
    assert result.checks and (bytes(cert) == pck_chain_der(quote)[which] or not result.verified)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SNP_SETS)), st.data())
def test_mutated_snp_certificates_are_answered_with_checks(name: str, data: st.DataObject) -> None:
    sample = snp_sample(name)
    ders = [c.public_bytes(Encoding.DER) for c in sample.certs]
    which = data.draw(st.integers(0, len(ders) - 1))
    cert = bytearray(ders[which])
    for _ in range(data.draw(st.integers(1, 4))):
        cert[data.draw(st.integers(0, len(cert) - 1))] = data.draw(st.integers(0, 255))
    ders[which] = bytes(cert)
    evidence = Evidence(type="sev-snp", report=b64(sample.report), certs=[pem_of(ders).decode()])
    # A mutated copy of a root AMD pins anyway may go unused: only that an answer comes is asserted here.
    assert verify_evidence(evidence, AttestationPolicy(allow_debug=True), at=SAMPLE_TIME).checks


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 300) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def pki():  # type: ignore[no-untyped-def]
    from tests.attestation.tdx_forge import StandInPki

    return StandInPki()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["tcb_info", "qe_identity"]), st.data())
def test_signed_collateral_of_any_shape_is_answered_with_checks(pki, which: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    """Collateral whose signature holds but whose documents say anything: a failed check, never an exception."""
    import json

    from tests.attestation.tdx_forge import PRODUCTION_TD, _sign_json, collateral

    made = collateral(pki)
    doc = json.loads(getattr(made, which))
    doc[data.draw(st.sampled_from(sorted(doc)))] = data.draw(JSON)
    text, signature = _sign_json(pki.tcb_key, doc)
    made = made.model_copy(update={which: text, f"{which}_signature": signature})
    result = verify_tdx(pki.quote(td_attributes=PRODUCTION_TD), root=pki.root_pin, collateral=made)
    assert "tcb-status" in {c.name for c in result.checks}
