"""The hammer holds its own promises: under valid, replayed and malicious load, with the server SIGKILLed,
every receipt stays provable under the final checkpoint and the audit passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HAMMER = Path(__file__).resolve().parents[3] / "bench" / "hammer.py"


@pytest.mark.slow
def test_a_short_hammer_run_loses_no_receipt_and_the_audit_passes() -> None:
    done = subprocess.run([sys.executable, str(HAMMER), "--seconds", "6", "--writers", "3", "--seed", "7"],
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "depa-audit verify passed" in done.stdout and "SIGKILLs" in done.stdout
