"""`depa-audit attestation verify` takes the sample files as they are and exits 0 only when all verify."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from typer.testing import CliRunner

from attestation.certificates import common_name
from auditor.cli import app
from ccr_agent.attest import AgentKeys, Producer, attest
from ccr_agent.simulated import SimulatedTee
from schemas.canonical import canonical
from tests.conftest import data_file

runner = CliRunner()
AT = ["--at", "2025-06-01T00:00:00Z"]


def snp(*parts: str) -> str:
    return str(data_file("attestation", "sev-snp", *parts))


def verify(*args: str):
    return runner.invoke(app, ["attestation", "verify", *args])


CASES = {
    "raw report and DER VCEK": [snp("trustee_milan", "test-report.bin"), snp("trustee_milan", "test-vcek.der")],
    "hex report, --vcek and --chain": [
        snp("virtee-sev_milan", "report_milan.hex"),
        "--vcek",
        snp("virtee-sev_milan", "vcek.der"),
        "--chain",
        snp("virtee-sev_milan", "cert_chain_milan.pem"),
    ],
    "PEM bundle": [
        snp("sidecar_aci_milan", "snp_report.bin"),
        snp("sidecar_aci_milan", "uvm_host_amd_certificate.pem"),
    ],
    "ACI certificate JSON": [
        snp("sidecar_aci_milan", "snp_report.bin"),
        snp("sidecar_aci_milan", "uvm_host_amd_certificate.json"),
    ],
    "Azure HCL report": [
        snp("trustee_azure_genoa", "hcl-report-milan.bin"),
        snp("trustee_azure_genoa", "vcek-milan-chain-azure.pem"),
    ],
    "trustee az-snp-vtpm evidence JSON": [snp("trustee_azure_genoa", "evidence-genoa.json")],
    "VLEK with the ASVK chain": [
        snp("trustee_milan", "test-vlek-report.bin"),
        "--vcek",
        snp("trustee_milan", "test-vlek.der"),
    ],
    "TDX quote v5, its service TD admitted": [
        str(data_file("attestation", "tdx", "trustee_tdx_quote_5.dat")),
        "--policy",
        str(data_file("policies", "tdx_v5_service_td.json")),
    ],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_sample_files_verify_as_they_are(case: str) -> None:
    result = verify(*CASES[case], *AT)
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output


def test_the_table_shows_claims_and_checks() -> None:
    result = verify(*CASES["raw report and DER VCEK"], *AT)
    for text in ("measurement", "report-signature", "ark-pinned", "Milan"):
        assert text in result.output


def test_a_debug_guest_exits_1_and_passes_with_a_policy_that_allows_debug(tmp_path: Path) -> None:
    files = [snp("go-sev-guest_milan", "report.bin"), snp("go-sev-guest_milan", "vcek.der"), *AT]
    assert verify(*files).exit_code == 1
    policy = tmp_path / "policy.json"
    policy.write_text('{"allow_debug": true}')
    assert verify(*files, "--policy", str(policy)).exit_code == 0


def test_json_output_lists_every_check() -> None:
    result = verify(*CASES["raw report and DER VCEK"], *AT, "--json")
    (doc,) = json.loads(result.output)
    assert doc["verified"] is True
    assert {c["name"] for c in doc["checks"]} >= {"ark-pinned", "chip-id", "tcb", "report-signature"}


def test_a_tampered_report_exits_1(tmp_path: Path) -> None:
    raw = bytearray(Path(snp("trustee_milan", "test-report.bin")).read_bytes())
    raw[0x90] ^= 1
    (tmp_path / "report.bin").write_bytes(bytes(raw))
    result = verify(str(tmp_path / "report.bin"), snp("trustee_milan", "test-vcek.der"), *AT, "--json")
    assert result.exit_code == 1
    checks = json.loads(result.output)[0]["checks"]
    assert any(c["name"] == "report-signature" and c["status"] == "fail" for c in checks)


def test_an_expired_certificate_fails_at_a_later_time() -> None:
    result = verify(*CASES["VLEK with the ASVK chain"], "--at", "2026-01-01")
    assert result.exit_code == 1
    assert "SEV-VLEK is valid" in result.output


def test_simulated_evidence_needs_its_root_and_is_shown_as_insecure(tmp_path: Path, simulator: SimulatedTee) -> None:
    (tmp_path / "report.bin").write_bytes(simulator.report(bytes(64)))
    (tmp_path / "chain.pem").write_text("".join(simulator.chain_pem))
    files = [str(tmp_path / "report.bin"), "--chain", str(tmp_path / "chain.pem")]
    assert verify(*files).exit_code == 1
    trusted = verify(*files, "--simulated-root", str(tmp_path / "chain.pem"))
    assert trusted.exit_code == 0
    assert "INSECURE" in trusted.output


def test_an_attestation_report_body_is_checked_against_its_binding(tmp_path: Path, simulator: SimulatedTee) -> None:
    producer = Producer(tsm_root=tmp_path / "none", sev_device=tmp_path / "none", simulator=simulator)
    body = attest(AgentKeys.generate(), "sha256:" + "0" * 64, "run-7", "nonce", producer, allow_simulated=True)
    (tmp_path / "att.json").write_bytes(canonical(body.model_dump(mode="json")))
    (tmp_path / "ark.pem").write_text(simulator.chain_pem[2])
    result = verify(str(tmp_path / "att.json"), "--simulated-root", str(tmp_path / "ark.pem"), "--json")
    (doc,) = json.loads(result.output)
    assert result.exit_code == 0
    assert next(c for c in doc["checks"] if c["name"] == "report-data")["status"] == "pass"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello", "not an SEV-SNP report"),
        (b'{"x": 1}', "neither evidence nor certificates"),
        (b"{broken", "not valid JSON"),
    ],
)
def test_an_unreadable_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "f").write_bytes(content)
    done = subprocess.run(
        [sys.executable, "-c", "from auditor.cli import main; main()", "attestation", "verify", str(tmp_path / "f")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_certificates_alone_are_not_evidence() -> None:
    result = verify(snp("trustee_milan", "test-vcek.der"))
    assert result.exit_code != 0
    assert "only certificates" in str(result.exception)


# --- Intel's collateral for TDX ---------------------------------------------------------------------------------

WHILE_CURRENT = ["--at", "2025-03-20T00:00:00Z"]  # within the sample collateral's issue date and next update
QUOTE_4 = str(data_file("attestation", "tdx", "trustee_tdx_quote_4.dat"))
COLLATERAL = data_file("attestation", "tdx", "dcap-qvl_tdx_quote_collateral.json")


def collateral_checks(collateral: Path) -> dict[str, dict]:
    result = verify(QUOTE_4, "--collateral", str(collateral), *WHILE_CURRENT, "--json")
    assert result.exit_code == 1, result.output  # the collateral describes another platform
    return {c["name"]: c for c in json.loads(result.output)[0]["checks"]}


def test_collateral_as_dcap_qvl_writes_it_is_checked() -> None:
    found = collateral_checks(COLLATERAL)
    assert found["collateral-signed"]["status"] == "pass"
    assert "not this platform's 50806f000000" in found["collateral-platform"]["reason"]


def test_collateral_as_intel_pcs_serves_it_reads_the_same(tmp_path: Path) -> None:
    """PCS bodies are {"tcbInfo": {...}, "signature": ...}: the signature covers the member's exact text."""
    doc = json.loads(COLLATERAL.read_text())
    for name, key in (("tcb_info", "tcbInfo"), ("qe_identity", "enclaveIdentity")):
        body = '{"' + key + '": ' + doc[name] + ', "signature": "' + doc[f"{name}_signature"] + '"}'
        (tmp_path / f"{name}.json").write_text(body)
        (tmp_path / f"{name}_issuer_chain.pem").write_text(doc[f"{name}_issuer_chain"])
    assert collateral_checks(tmp_path) == collateral_checks(COLLATERAL)


def test_a_folder_missing_a_pcs_file_is_one_clear_line(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("depa-audit"))
    done = subprocess.run([exe, "attestation", "verify", QUOTE_4, "--collateral", str(tmp_path)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"collateral {tmp_path}: tcb_info.json is missing" in done.stderr


def test_amds_crl_as_kds_serves_it_revokes_a_vcek(tmp_path: Path) -> None:
    """KDS serves the CRL as DER; one naming the VCEK fails the report (the simulated ARK signs it)."""
    from tests.attestation.test_amd_crl import crl

    ark_key = rsa.generate_private_key(65537, 3072)
    tee = SimulatedTee.generate(ark_key=ark_key)
    (tmp_path / "report.bin").write_bytes(tee.report(bytes(64)))
    (tmp_path / "chain.pem").write_text("".join(tee.chain_pem))
    der = x509.load_pem_x509_crl(crl(tee, ark_key, tee.chain[0]).encode()).public_bytes(Encoding.DER)
    (tmp_path / "ark.crl").write_bytes(der)
    files = [str(tmp_path / "report.bin"), "--chain", str(tmp_path / "chain.pem")]
    result = verify(
        *files, "--simulated-root", str(tmp_path / "chain.pem"), "--crl", str(tmp_path / "ark.crl"), "--json"
    )
    revocation = next(c for c in json.loads(result.output)[0]["checks"] if c["name"] == "revocation")
    assert result.exit_code == 1 and revocation["reason"] == f"SEV-VCEK revoked by {common_name(tee.chain[2])}'s CRL"
