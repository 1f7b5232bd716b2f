"""`depa-audit verify --ledger`: the same audit read over HTTP, with the ledger's own budget figures held against it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app
from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from chain.ledger.sqlstore import SqlStore
from tests.auditor.conftest import History
from tests.conftest import ORIGIN
from tests.world import serving


def test_a_served_ledger_verifies_and_its_budget_figures_agree(history: History, tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(history.db.read_bytes())
    ledger = Ledger(SqlStore(f"sqlite:///{db}"), ORIGIN, history.key, history.world.operator.did)
    key = tmp_path / "operator.pem"  # the operator reads the whole log, as an auditor does
    key.write_bytes(history.world.operator.pem())
    with serving(create_app(ledger)) as url:
        done = CliRunner().invoke(
            app,
            ["verify", "--ledger", url, "--vkey", history.vkey, "--json", "--state", str(tmp_path / "auditor"),
             "--key", str(key)],
        )  # fmt: skip
        export = CliRunner().invoke(
            app,
            ["bundle", "export", "--ledger", url, "--vkey", history.vkey, "-o", str(tmp_path / "log.bundle.json"),
             "--key", str(key)],
        )  # fmt: skip
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


def test_an_unsigned_or_non_auditor_verify_of_a_parties_only_ledger_is_one_line_and_exit_2(
    history: History, tmp_path: Path
) -> None:
    db = tmp_path / "ledger.db"
    db.write_bytes(history.db.read_bytes())
    ledger = Ledger(SqlStore(f"sqlite:///{db}"), ORIGIN, history.key, history.world.operator.did)
    bank = tmp_path / "bank.pem"  # a party, but not an auditor
    bank.write_bytes(history.world.parties["bank"].pem())
    depa_audit = str(Path(sys.executable).with_name("depa-audit"))
    with serving(create_app(ledger)) as url:
        for extra, says in (([], "the read is not signed"), (["--key", str(bank)], "operator and auditors")):
            done = subprocess.run([depa_audit, "verify", "--ledger", url, "--vkey", history.vkey, *extra],
                                  capture_output=True, text=True)  # fmt: skip
            assert done.returncode == 2, done.stderr
            assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
