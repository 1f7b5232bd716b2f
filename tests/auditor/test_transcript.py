"""The training transcript: the clean room logs the root of its lines in run.complete, and depa-audit checks a
transcript file against the log (root, registration, the steps committed to the budget)."""

from __future__ import annotations

import json
from pathlib import Path

import pyrage
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from chain.tlog import transcript
from schemas.errors import MalformedInput
from tests.auditor.conftest import History


@pytest.fixture(scope="module")
def transcript_file(history: History, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The consumer's decrypted transcript of run r1."""
    sealed = history.world.root / "outputs" / "transcript.jsonl.age"
    path = tmp_path_factory.mktemp("transcript") / "transcript.jsonl"
    path.write_bytes(pyrage.decrypt(sealed.read_bytes(), [history.world.identities["consumer"]]))
    return path


def audit(history: History, path: Path, run: str = "r1"):  # type: ignore[no-untyped-def]
    args = ["transcript", str(path), "--run", run, "--database", f"sqlite:///{history.db}", "--vkey", history.vkey]
    return CliRunner().invoke(app, [*args, "--json"])


def test_the_run_logs_the_root_of_its_transcript_and_the_auditor_checks_it(history, transcript_file) -> None:
    (complete,) = [e for e in history.world.ledger.registry.runs.values()]
    records = transcript.commit(transcript_file.read_bytes()).records
    assert records and {"epoch", "steps", "loss", "epsilon", "state"} <= set(records[-1])
    assert records[-1]["state"].startswith("sha256:") and 0 < records[-1]["epsilon"]
    done = audit(history, transcript_file)
    assert done.exit_code == 0, done.output
    checks = {f["check"]: f["status"] for f in json.loads(done.stdout)}
    assert checks == {"root": "pass", "registered": "pass", "ordered": "pass", "steps": "pass"}
    assert complete.status == "succeeded"


def test_a_changed_epoch_fails_the_root_and_the_registration(history, transcript_file, tmp_path) -> None:
    lines = transcript_file.read_text().splitlines()
    record = json.loads(lines[-1])
    record["loss"] = record["loss"] / 2  # a better-looking run than the one that ran
    lines[-1] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    forged = tmp_path / "forged.jsonl"
    forged.write_text("\n".join(lines) + "\n")
    done = audit(history, forged)
    assert done.exit_code == 1
    checks = {f["check"]: f["status"] for f in json.loads(done.stdout)}
    assert checks["root"] == "fail" and checks["registered"] == "fail" and checks["ordered"] == "pass"


def test_a_file_that_is_not_a_transcript_is_refused() -> None:
    with pytest.raises(MalformedInput, match="header"):
        transcript.commit(b'{"epoch": 1}\n')
    with pytest.raises(MalformedInput, match="not JSON"):
        transcript.commit(b'{"depa_transcript": 1}\nnot json\n')
