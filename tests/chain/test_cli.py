"""depa-chain's commands, through typer's CliRunner and the real entry point."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from chain.cli import app
from chain.console import lineage_tree
from chain.ledger.home import open_home
from chain.tlog.checkpoint import VerifierKey, vkey_of
from schemas import statement as s
from schemas.api import ArtefactView, Lineage, LineageEdge
from schemas.keys import Signer
from tests.conftest import age_recipient

runner = CliRunner()
CLI = str(Path(sys.executable).with_name("depa-chain"))


def test_init_creates_the_home_and_prints_the_vkey(tmp_path):
    result = runner.invoke(app, ["init", "--home", str(tmp_path / "h"), "--origin", "cli.test/log"])
    assert result.exit_code == 0
    VerifierKey.parse(result.stdout.strip().splitlines()[-1])
    assert (tmp_path / "h" / "operator.pem").stat().st_mode & 0o777 == 0o600
    assert open_home(tmp_path / "h").info().size == 0


def test_keys_new_writes_a_pem_and_an_age_identity(tmp_path):
    result = runner.invoke(app, ["keys", "new", "bank", "--dir", str(tmp_path)])
    out = json.loads(result.stdout)
    assert Signer.load(tmp_path / "bank.pem").did == out["did"]
    assert "AGE-SECRET-KEY-1" in (tmp_path / "bank.age").read_text() and out["x25519"].startswith("age1")


def test_a_receipt_file_verifies_offline_and_a_changed_one_fails(tmp_path):
    runner.invoke(app, ["init", "--home", str(tmp_path / "h"), "--origin", "cli.test/log"])
    ledger = open_home(tmp_path / "h")
    operator = Signer.load(tmp_path / "h" / "operator.pem")
    receipt, _ = ledger.append(
        s.from_raw(
            s.sign(
                operator,
                "party.register",
                {"did": Signer.generate().did, "name": "bank", "roles": ["TDP"], "x25519": age_recipient()},
            )
        )
    )
    good = tmp_path / "r.tlog-proof"
    good.write_text(receipt.to_tlog_proof())
    vkey = str(ledger.vkey)
    assert runner.invoke(app, ["receipt", "verify", str(good), "--vkey", vkey]).exit_code == 0
    bad = tmp_path / "bad.tlog-proof"
    bad.write_text(receipt.to_tlog_proof().replace("index 0", "index 1"))
    done = subprocess.run([CLI, "receipt", "verify", str(bad), "--vkey", vkey], capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.startswith("error:") and len(done.stderr.strip().splitlines()) == 1


def test_an_unreachable_ledger_is_one_line_and_a_non_zero_exit(tmp_path):
    vkey = str(vkey_of("x.test/log", Signer.generate()))
    done = subprocess.run(
        [CLI, "checkpoint", "--ledger", "http://127.0.0.1:9", "--vkey", vkey], capture_output=True, text=True
    )
    assert done.returncode == 1 and "cannot reach the ledger" in done.stderr


def test_the_other_commands_exist_and_print_help():
    for tool in ("depa-ccr", "depa-audit", "depa-keys"):
        done = subprocess.run([str(Path(sys.executable).with_name(tool)), "--help"], capture_output=True, text=True)
        assert done.returncode == 0 and "Usage" in done.stdout


def test_the_lineage_tree_names_what_an_artefact_came_from_and_what_was_made_from_it():
    def art(digest: str, name: str, kind: str, seq: int, parents: list[str]) -> ArtefactView:
        return ArtefactView(
            digest=digest, name=name, kind=kind, format=None, size=None, encrypted_digest=None, derived_from=parents,
            derived=[], produced_by=None, contract_id=None, owner="did:key:z", seq=seq, logged_at=datetime.now(UTC),
        )  # fmt: skip

    data, model, report = ("sha256:" + c * 64 for c in "abc")
    found = Lineage(
        root=model,
        direction="both",
        artefacts=[art(data, "bank.csv", "dataset", 3, []), art(model, "model.onnx", "model", 9, [data]),
                   art(report, "report.json", "log", 12, [model])],
        edges=[LineageEdge(parent=data, child=model), LineageEdge(parent=model, child=report)],
    )  # fmt: skip
    console = Console(record=True, width=200)
    console.print(lineage_tree(found.graph()))
    lines = console.export_text().splitlines()
    assert lines[0] == f"model.onnx (model) {model} entry 9"
    assert f"derived_from bank.csv (dataset) {data} entry 3" in lines[1]
    assert f"derived_from (of) report.json (log) {report} entry 12" in lines[2]


def test_fsck_speaks_json_to_scripts(tmp_path):
    runner.invoke(app, ["init", "--home", str(tmp_path / "h"), "--origin", "cli.test/log"])
    done = subprocess.run([CLI, "fsck", "--home", str(tmp_path / "h"), "--json"], capture_output=True, text=True)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["consistent"] and report["problems"] == [] and report["checkpoints"] >= 1
