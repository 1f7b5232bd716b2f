"""`depa-ccr simulator init` and `depa-ccr attest`: evidence an operator can hand to `depa-audit`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app as audit
from ccr_agent.cli import app
from ccr_agent.simulated import SimulatedTee

runner = CliRunner()
REPORT_DATA = "ab" * 64


def test_simulator_init_prints_the_pin_a_contract_needs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulator", "init", str(tmp_path / "sim")])
    assert result.exit_code == 0
    pin = SimulatedTee.open(tmp_path / "sim").root.sha256
    assert f'"simulated_roots": ["{pin}"]' in result.output
    assert "INSECURE" in result.output


def test_attest_with_a_simulator_writes_evidence_the_auditor_verifies(tmp_path: Path) -> None:
    sim = tmp_path / "sim"
    result = runner.invoke(
        app, ["attest", "--report-data", REPORT_DATA, "-o", str(tmp_path / "ev.json"), "--simulator", str(sim)]
    )
    assert result.exit_code == 0, result.output
    policy = tmp_path / "policy.json"
    policy.write_text(f'{{"report_data": "{REPORT_DATA}"}}')
    checked = runner.invoke(
        audit,
        [
            "attestation",
            "verify",
            str(tmp_path / "ev.json"),
            "--policy",
            str(policy),
            "--simulated-root",
            str(sim / "chain.pem"),
        ],
    )
    assert checked.exit_code == 0, checked.output


def test_attest_without_a_tee_or_simulator_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ccr_agent.cli import main; main()",
            "attest",
            "--report-data",
            REPORT_DATA,
            "-o",
            str(tmp_path / "ev.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "no TEE found" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "ev.json").exists()


def test_report_data_must_be_64_bytes_of_hex(tmp_path: Path) -> None:
    result = runner.invoke(app, ["attest", "--report-data", "abcd", "-o", str(tmp_path / "ev.json")])
    assert result.exit_code != 0
    assert "2 bytes" in str(result.exception)
