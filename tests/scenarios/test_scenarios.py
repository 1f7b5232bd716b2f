"""Each scenario runs end to end as `make demo SCENARIO=name` runs it, and leaves a ledger that says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chain.ledger.home import Settings, open_home

SCENARIOS = ["credit_risk", "disease_surveillance", "medical_imaging"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_the_scenario_runs_end_to_end(tmp_path: Path, name: str) -> None:
    env = {**os.environ, "DEPA_DEMO_ROOT": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "scenarios", name], env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "verified=True, security=insecure-simulated" in done.stdout
    ledger = open_home(tmp_path / name / "ledger", Settings())
    (run,) = ledger.registry.runs.values()
    assert run.status == "succeeded" and len(run.outputs) == 4  # the model twice, its metrics, its transcript
    assert all(b.committed_segments and not b.reserved for b in ledger.registry.budgets.values())
    ledger.store.close()
    assert (tmp_path / name / "consumer" / "model.onnx").exists()
