"""The simulated TEE: same layout and code path, its own root, always labelled insecure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from attestation.amd import AMD_ROOTS
from attestation.evidence import verify_evidence
from attestation.policy import AttestationPolicy
from attestation.snp import verify_snp
from attestation.snp_report import parse_report
from ccr_agent.simulated import SimulatedTee
from schemas.encoding import b64
from schemas.statement import Evidence

REPORT_DATA = bytes(range(64))


def test_a_simulated_report_verifies_under_its_own_root_and_is_labelled_insecure(simulator: SimulatedTee) -> None:
    result = verify_snp(simulator.report(REPORT_DATA), simulator.chain, roots=(simulator.root,))
    assert result.verified
    assert result.security == "insecure-simulated"


def test_a_verifier_given_only_the_amd_roots_rejects_simulated_evidence(simulator: SimulatedTee) -> None:
    result = verify_snp(simulator.report(REPORT_DATA), simulator.chain, roots=AMD_ROOTS)
    assert not result.verified
    assert {c.name for c in result.failures} == {"ark-pinned"}


def test_simulated_evidence_without_a_configured_root_is_refused(simulator: SimulatedTee) -> None:
    evidence = Evidence(type="simulated", report=b64(simulator.report(REPORT_DATA)), certs=simulator.chain_pem)
    result = verify_evidence(evidence, AttestationPolicy())
    assert not result.verified
    assert result.security == "insecure-simulated"
    assert "no simulated root is configured" in result.failures[0].reason


def test_simulated_evidence_passed_off_as_sev_snp_is_still_labelled_insecure(simulator: SimulatedTee) -> None:
    evidence = Evidence(type="sev-snp", report=b64(simulator.report(REPORT_DATA)), certs=simulator.chain_pem)
    assert not verify_evidence(evidence, AttestationPolicy()).verified
    trusted = verify_evidence(evidence, AttestationPolicy(), simulated_roots=(simulator.root,))
    assert trusted.verified and trusted.security == "insecure-simulated"


def test_the_report_carries_report_data_measurement_and_host_data(simulator: SimulatedTee) -> None:
    report = parse_report(simulator.report(REPORT_DATA, measurement=b"\x01" * 48, host_data=b"\x02" * 32))
    assert (report.report_data, report.measurement, report.host_data) == (REPORT_DATA, b"\x01" * 48, b"\x02" * 32)
    assert report.chip_id == simulator.chip_id


def test_a_simulated_debug_guest_fails_the_debug_check(simulator: SimulatedTee) -> None:
    result = verify_snp(simulator.report(REPORT_DATA, debug=True), simulator.chain, roots=(simulator.root,))
    assert {c.name for c in result.failures} == {"debug"}


def test_report_data_must_be_64_bytes(simulator: SimulatedTee) -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        simulator.report(b"short")


def test_the_simulator_folder_is_reused_and_its_key_is_private(tmp_path: Path) -> None:
    first = SimulatedTee.open(tmp_path / "sim")
    again = SimulatedTee.open(tmp_path / "sim")
    assert again.root == first.root and again.chip_id == first.chip_id
    assert stat.S_IMODE(os.stat(tmp_path / "sim" / "vcek.key").st_mode) == 0o600
    assert not (tmp_path / "sim" / "ark.key").exists()  # the root's key is thrown away once used
    report = again.report(REPORT_DATA)
    assert verify_snp(report, first.chain, roots=(first.root,)).verified
