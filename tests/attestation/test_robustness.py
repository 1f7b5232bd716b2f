"""Whatever bytes arrive, the verifiers answer with a failed check, never an exception."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.attestation.policy import AttestationPolicy
from chain.attestation.snp import verify_snp
from chain.attestation.tdx import verify_tdx
from tests.attestation.samples import SAMPLE_TIME, snp_sample, tdx_quote


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
