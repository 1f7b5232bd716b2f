"""The 1184-byte ATTESTATION_REPORT parses field by field (SEV-SNP ABI table 23)."""

from __future__ import annotations

import pytest

from attestation.snp_report import REPORT_SIZE, ReportFormatError, TcbVersion, parse_report
from tests.attestation.samples import snp_sample


def test_a_v2_milan_report_parses_every_field() -> None:
    report = parse_report(snp_sample("virtee-sev_milan").report)
    assert report.version == 2
    assert report.vmpl == 0
    assert report.signature_algo == 1
    assert report.signer_info.signing_key == "vcek"
    assert not report.policy.debug
    assert report.cpuid_family is None  # only v3 and later carry CPUID
    assert report.reported_tcb("Milan") == TcbVersion(bootloader=3, tee=0, snp=8, microcode=115)
    assert len(report.chip_id) == 64 and len(report.measurement) == 48 and len(report.host_data) == 32
    assert report.signed_bytes == snp_sample("virtee-sev_milan").report[:0x2A0]


def test_a_v3_report_names_its_cpu() -> None:
    report = parse_report(snp_sample("trustee_azure_genoa").report[0x20:0x4C0])
    assert report.version == 3
    assert report.product_from_cpuid == "Genoa"


def test_a_vlek_report_says_so_in_signer_info() -> None:
    report = parse_report(snp_sample("trustee_milan_vlek").report)
    assert report.signer_info.signing_key == "vlek"
    assert report.vmpl == 1


def test_the_go_sev_guest_sample_was_launched_with_debugging_on() -> None:
    assert parse_report(snp_sample("go-sev-guest_milan").report).policy.debug


def test_the_signature_is_read_as_little_endian_r_and_s() -> None:
    raw = snp_sample("trustee_milan").report
    report = parse_report(raw)
    assert report.signature_r == int.from_bytes(raw[0x2A0:0x2E8], "little")
    assert report.signature_s == int.from_bytes(raw[0x2E8:0x330], "little")


def test_turin_moves_the_tcb_fields_and_adds_fmc() -> None:
    raw = int.from_bytes(bytes([1, 2, 3, 4, 0, 0, 0, 9]), "little")
    assert TcbVersion.unpack(raw, "Turin") == TcbVersion(bootloader=2, tee=3, snp=4, microcode=9, fmc=1)
    assert TcbVersion.unpack(raw, "Milan") == TcbVersion(bootloader=1, tee=2, snp=0, microcode=9)


@pytest.mark.parametrize("size", [0, REPORT_SIZE - 1, REPORT_SIZE + 1])
def test_a_report_of_the_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(ReportFormatError, match="1184 bytes"):
        parse_report(bytes(size))


def test_a_version_1_report_is_refused() -> None:
    raw = bytearray(snp_sample("trustee_milan").report)
    raw[0] = 1
    with pytest.raises(ReportFormatError, match="version 1"):
        parse_report(bytes(raw))
