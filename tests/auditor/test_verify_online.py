"""`depa-audit verify --ledger`: the same audit read over HTTP, with the ledger's own budget figures held against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from chain.ledger import Ledger
from chain.service import create_app
from chain.sqlstore import SqlStore
from tests.auditor.conftest import History
from tests.conftest import ORIGIN
from tests.world import serving


def test_a_served_ledger_verifies_and_its_budget_figures_agree(history: History, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(history.db.read_bytes())
    ledger = Ledger(SqlStore(f"sqlite:///{db}"), ORIGIN, history.key, history.world.operator.did)
    with serving(create_app(ledger)) as url:
        done = CliRunner().invoke(
            app, ["verify", "--ledger", url, "--vkey", history.vkey, "--json", "--state", str(tmp_path / "auditor")]
        )
        export = CliRunner().invoke(
            app, ["bundle", "export", "--ledger", url, "--vkey", history.vkey, "-o", str(tmp_path / "log.bundle.json")]
        )
    report = json.loads(done.output)
    assert done.exit_code == 0, done.output
    assert any(f["check"] == "recorded" and f["status"] == "pass" for f in report["findings"])
    assert export.exit_code == 0 and (tmp_path / "auditor" / "checkpoint").exists()
    offline = CliRunner().invoke(app, ["verify", "--bundle", str(tmp_path / "log.bundle.json"), "--vkey", history.vkey])
    assert offline.exit_code == 0


def test_an_unreachable_ledger_is_exit_2(history: History) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from auditor.cli import main; main()",
            "verify",
            "--ledger",
            "http://127.0.0.1:9",
            "--vkey",
            history.vkey,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "cannot read the ledger" in done.stderr
