"""SEV-SNP reports verify to a pinned AMD root; every tampering is caught and named."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.amd import PINNED_ARKS
from attestation.certificates import fingerprint, load_certificates
from attestation.policy import AttestationPolicy
from attestation.result import AttestationResult, Status
from attestation.snp import verify_snp
from tests.attestation.samples import SAMPLE_TIME, SNP_SETS, snp_folder, snp_sample

ALLOW_DEBUG = AttestationPolicy(allow_debug=True)


def failures(result: AttestationResult) -> set[str]:
    return {c.name for c in result.failures}


def status(result: AttestationResult, name: str) -> Status:
    return next(c.status for c in result.checks if c.name == name)


def flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize("name", sorted(SNP_SETS))
def test_every_public_sample_set_verifies(name: str) -> None:
    sample = snp_sample(name)
    result = verify_snp(sample.report, sample.certs, policy=ALLOW_DEBUG, at=SAMPLE_TIME)
    assert result.verified, [c.reason for c in result.failures]
    assert result.security == "hardware"


@pytest.mark.parametrize("name", sorted(SNP_SETS))
def test_every_sample_chains_to_a_pinned_ark(name: str) -> None:
    sample = snp_sample(name)
    result = verify_snp(sample.report, sample.certs, policy=ALLOW_DEBUG, at=SAMPLE_TIME)
    assert status(result, "ark-pinned") == Status.PASS
    assert result.claims.product in PINNED_ARKS


def test_the_shipped_amd_certificates_are_the_pinned_ones() -> None:
    from attestation.amd import shipped_certificates

    arks = [c for c in shipped_certificates() if c.issuer == c.subject]
    assert {fingerprint(c) for c in arks} == set(PINNED_ARKS.values())


def test_every_shipped_intermediate_is_signed_by_its_products_ark() -> None:
    """Turin ships its ARK and ASVK (go-sev-guest's trust store; its ASK has no offline copy here)."""
    from attestation.amd import _pss_signed_by, shipped_certificates
    from attestation.certificates import common_name

    certs = shipped_certificates()
    arks = {common_name(c).removeprefix("ARK-"): c for c in certs if c.issuer == c.subject}
    intermediates = {common_name(c): c for c in certs if c.issuer != c.subject}
    assert set(intermediates) == {"SEV-Milan", "SEV-VLEK-Milan", "SEV-Genoa", "SEV-VLEK-Turin"}
    for name, cert in intermediates.items():
        assert _pss_signed_by(cert, arks[name.rsplit("-", 1)[1]]), name


def test_a_vcek_alone_is_enough_evidence_with_the_shipped_chain() -> None:
    folder = snp_folder("go-sev-guest_milan")
    vcek = load_certificates((folder / "vcek.der").read_bytes())
    result = verify_snp((folder / "report.bin").read_bytes(), vcek, policy=ALLOW_DEBUG, at=SAMPLE_TIME)
    assert result.verified


def test_a_vcek_with_serial_number_zero_loads() -> None:
    (vcek,) = load_certificates((snp_folder("go-sev-guest_milan") / "vcek.der").read_bytes())
    assert vcek.serial_number == 0


def test_a_debug_guest_fails_the_debug_check_unless_the_policy_allows_it() -> None:
    sample = snp_sample("go-sev-guest_milan")
    result = verify_snp(sample.report, sample.certs, at=SAMPLE_TIME)
    assert failures(result) == {"debug"}
    assert "debugging is on" in result.failures[0].reason


def test_the_claims_are_read_from_the_report() -> None:
    sample = snp_sample("sidecar_aci_milan")
    result = verify_snp(sample.report, sample.certs, at=SAMPLE_TIME)
    assert result.claims.measurement == sample.report[0x90:0xC0].hex()
    assert result.claims.host_data == sample.report[0xC0:0xE0].hex()
    assert result.claims.platform_id == sample.report[0x1A0:0x1E0].hex()
    assert result.claims.tcb == {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}


def test_the_aci_host_data_is_the_hash_of_its_security_policy() -> None:
    folder = snp_folder("sidecar_aci_milan")
    policy = base64.b64decode((folder / "uvm_security_policy.base64").read_text())
    sample = snp_sample("sidecar_aci_milan")
    expected = hashlib.sha256(policy).hexdigest()
    result = verify_snp(sample.report, sample.certs, policy=AttestationPolicy(host_data=[expected]), at=SAMPLE_TIME)
    assert status(result, "host-data") == Status.PASS
    assert result.verified


def test_azure_report_data_is_bound_to_the_hcl_runtime_data() -> None:
    sample = snp_sample("trustee_azure_genoa")
    result = verify_snp(sample.report, sample.certs, at=SAMPLE_TIME)
    assert status(result, "hcl-runtime-data") == Status.PASS


def test_changed_hcl_runtime_data_is_caught() -> None:
    sample = snp_sample("trustee_azure_genoa")
    inside_the_vtpm_key = sample.report.index(b'"n":"') + 10
    result = verify_snp(flip(sample.report, inside_the_vtpm_key), sample.certs, at=SAMPLE_TIME)
    assert failures(result) == {"hcl-runtime-data"}


def test_on_azure_the_guests_64_bytes_are_the_runtime_claims_user_data() -> None:
    """REPORT_DATA hashes the runtime claims; the guest's report data (the binding document) is their user-data,
    all zero in Azure's samples. Binding it to SNP REPORT_DATA instead could never pass."""
    sample = snp_sample("trustee_azure_genoa")
    bound = verify_snp(sample.report, sample.certs, policy=AttestationPolicy(report_data="00" * 64), at=SAMPLE_TIME)
    assert status(bound, "report-data") == Status.PASS
    other = verify_snp(sample.report, sample.certs, policy=AttestationPolicy(report_data="11" * 64), at=SAMPLE_TIME)
    assert "report-data" in failures(other)


@pytest.mark.parametrize(("old", "new"), [(b'"user-data":"0', b'"user-data":"z'), (b'"user-data"', b'"user_data"')])
def test_runtime_claims_without_a_readable_user_data_are_a_format_error(old: bytes, new: bytes) -> None:
    sample = snp_sample("trustee_azure_genoa")
    result = verify_snp(sample.report.replace(old, new, 1), sample.certs, at=SAMPLE_TIME)
    says = "hex user-data"
    assert failures(result) == {"report-format"} and says in result.failures[0].reason


# Regions of the report and the checks a flipped bit there must fail.
REGIONS = {
    "version": (0x000, {"report-signature"}),
    "guest_svn": (0x004, {"report-signature"}),
    "policy": (0x008, {"report-signature"}),
    "family_id": (0x010, {"report-signature"}),
    "image_id": (0x020, {"report-signature"}),
    "vmpl": (0x030, {"report-signature"}),
    "signature_algo": (0x034, {"report-format", "report-signature"}),
    "current_tcb": (0x038, {"report-signature", "tcb-consistency"}),  # a lower CURRENT contradicts REPORTED
    "platform_info": (0x040, {"report-signature"}),
    "report_data": (0x050, {"report-signature"}),
    "measurement": (0x090, {"report-signature"}),
    "host_data": (0x0C0, {"report-signature"}),
    "id_key_digest": (0x0E0, {"report-signature"}),
    "author_key_digest": (0x110, {"report-signature"}),
    "report_id": (0x140, {"report-signature"}),
    "reported_tcb": (0x180, {"tcb", "report-signature"}),
    "chip_id": (0x1A0, {"chip-id", "report-signature"}),
    "committed_tcb": (0x1E0, {"report-signature"}),
    "launch_tcb": (0x1F0, {"report-signature"}),
    "reserved": (0x220, {"report-signature"}),
    "signature_r": (0x2A0, {"report-signature"}),
    "signature_s": (0x2E8, {"report-signature"}),
}


@pytest.mark.parametrize("region", sorted(REGIONS))
def test_a_bit_flip_in_any_region_of_a_report_fails_with_the_reason_named(region: str) -> None:
    offset, expected = REGIONS[region]
    sample = snp_sample("trustee_milan")
    result = verify_snp(flip(sample.report, offset), sample.certs, at=SAMPLE_TIME)
    assert not result.verified
    assert failures(result) == expected


def test_a_certificate_from_the_wrong_product_is_named() -> None:
    genoa = snp_sample("trustee_azure_genoa")
    milan_vcek = load_certificates((snp_folder("trustee_milan") / "test-vcek.der").read_bytes())
    result = verify_snp(genoa.report, milan_vcek, at=SAMPLE_TIME)
    assert "report-product" in failures(result)
    assert "CPUID says Genoa, the certificates are Milan" in next(c.reason for c in result.failures)


def test_a_vcek_of_another_chip_fails_the_chip_id_check() -> None:
    report = snp_sample("trustee_milan").report
    other = load_certificates((snp_folder("go-sev-guest_milan") / "vcek.der").read_bytes())
    result = verify_snp(report, other, at=SAMPLE_TIME)
    assert {"chip-id", "tcb", "report-signature"} <= failures(result)


def _tampered(cert: x509.Certificate, offset_from_end: int) -> x509.Certificate:
    der = bytearray(cert.public_bytes(Encoding.DER))
    der[-offset_from_end] ^= 0x01
    return x509.load_der_x509_certificate(bytes(der))


def test_a_tampered_vcek_is_not_signed_by_the_ask() -> None:
    sample = snp_sample("trustee_milan")
    # A byte in the signature's last bytes: the certificate still parses, its signature no longer verifies.
    result = verify_snp(sample.report, [_tampered(sample.certs[0], 5)], at=SAMPLE_TIME)
    assert failures(result) == {"endorsement-signed"}


def test_a_tampered_ask_breaks_the_chain() -> None:
    sample = snp_sample("virtee-sev_milan")
    vcek, ask, ark = sample.certs
    result = verify_snp(sample.report, [vcek, _tampered(ask, 5), ark], at=SAMPLE_TIME)
    assert "intermediate-signed" in failures(result)


@pytest.mark.parametrize("when", [datetime(2019, 1, 1, tzinfo=UTC), datetime(2031, 1, 1, tzinfo=UTC)])
def test_a_time_outside_the_validity_window_fails(when: datetime) -> None:
    sample = snp_sample("trustee_milan")
    result = verify_snp(sample.report, sample.certs, at=when)
    assert failures(result) == {"certificates-valid"}
    assert "SEV-VCEK is valid 2023-01-24 to 2030-01-24" in result.failures[0].reason


def test_an_expired_vlek_is_named_at_the_time_of_verification() -> None:
    sample = snp_sample("trustee_milan_vlek")
    result = verify_snp(sample.report, sample.certs, at=datetime(2026, 1, 1, tzinfo=UTC))
    assert failures(result) == {"certificates-valid"}


def test_a_vlek_report_needs_no_chip_id() -> None:
    sample = snp_sample("trustee_milan_vlek")
    result = verify_snp(sample.report, sample.certs, at=SAMPLE_TIME)
    assert status(result, "chip-id") == Status.NOT_CHECKED


def test_a_report_without_its_vcek_names_what_is_missing() -> None:
    result = verify_snp(snp_sample("trustee_milan").report, [], at=SAMPLE_TIME)
    assert failures(result) == {"certificate-chain", "report-signature"}
    assert "no SEV-VCEK certificate" in result.failures[0].reason


def test_an_unpinned_root_is_refused_even_if_the_chain_is_consistent() -> None:
    sample = snp_sample("trustee_milan")
    result = verify_snp(sample.report, sample.certs, at=SAMPLE_TIME, roots=())
    assert failures(result) == {"ark-pinned"}


def test_bytes_that_are_not_a_report_fail_the_format_check() -> None:
    result = verify_snp(b"not a report", [])
    assert not result.verified
    assert failures(result) == {"report-format"}


class TestPolicy:
    sample_name = "trustee_milan"

    def verify(self, **policy: object) -> AttestationResult:
        sample = snp_sample(self.sample_name)
        return verify_snp(sample.report, sample.certs, policy=AttestationPolicy(**policy), at=SAMPLE_TIME)

    def test_an_unconstrained_policy_reports_its_checks_as_not_checked(self) -> None:
        result = self.verify()
        for name in ("vmpl", "min-tcb", "measurement", "host-data", "report-data"):
            assert status(result, name) == Status.NOT_CHECKED

    def test_a_measurement_in_the_allowlist_passes(self) -> None:
        measurement = snp_sample(self.sample_name).report[0x90:0xC0].hex()
        assert status(self.verify(measurements=["00" * 48, measurement.upper()]), "measurement") == Status.PASS

    def test_a_measurement_outside_the_allowlist_fails(self) -> None:
        assert failures(self.verify(measurements=["00" * 48])) == {"measurement"}

    def test_another_host_data_fails(self) -> None:
        assert failures(self.verify(host_data=["11" * 32])) == {"host-data"}

    def test_a_tcb_below_the_minimum_fails_and_names_the_field(self) -> None:
        result = self.verify(min_tcb={"snp": 9, "microcode": 100})
        assert failures(result) == {"min-tcb"}
        assert "snp 8 < 9" in result.failures[0].reason

    def test_a_tcb_at_the_minimum_passes(self) -> None:
        assert status(self.verify(min_tcb={"snp": 8, "microcode": 115}), "min-tcb") == Status.PASS

    def test_vmpl_above_the_maximum_fails(self) -> None:
        self.sample_name = "trustee_milan_vlek"  # VMPL 1
        assert failures(self.verify(max_vmpl=0)) == {"vmpl"}

    def test_report_data_must_equal_the_expected_value(self) -> None:
        report_data = snp_sample(self.sample_name).report[0x50:0x90].hex()
        assert status(self.verify(report_data=report_data), "report-data") == Status.PASS
        assert failures(self.verify(report_data="00" * 64)) == {"report-data"}

    def test_an_unknown_tcb_field_is_refused(self) -> None:
        with pytest.raises(ValueError, match="min_tcb knows"):
            AttestationPolicy(min_tcb={"firmware": 1})
