"""Every attack on a real ledger's history, and `depa-audit verify` naming it with the right exit code."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from attestation.binding import report_data_for
from auditor.cli import app
from ccr_agent.attest import AgentKeys, attest
from chain.tlog import entry, merkle
from schemas import statement as s
from schemas.canonical import canonical
from schemas.contract import contract_id
from schemas.encoding import b64
from schemas.keys import Signer
from tests.attestation.tdx_forge import StandInPki, sample_mrtd, tdx_evidence, trust
from tests.auditor.conftest import History
from tests.auditor.forge import statements, write_log
from tests.conftest import ORIGIN, fresh_nonce
from tests.world import BANK


def copy(history: History, tmp_path: Path) -> Path:
    target = tmp_path / "ledger.db"
    shutil.copy(history.db, target)
    return target


def verify(db: Path, vkey: str, *extra: str) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["verify", "--database", f"sqlite:///{db}", "--vkey", vkey, "--json", *extra])
    return result.exit_code, json.loads(result.output)


def failed(report: dict) -> set[tuple[str, str]]:
    return {(f["scope"].split(" ")[0], f["check"]) for f in report["log"] + report["findings"] if f["status"] == "fail"}


def rows(db: Path):
    return sqlite3.connect(db)


def test_the_honest_history_verifies(history: History, tmp_path: Path) -> None:
    code, report = verify(copy(history, tmp_path), history.vkey)
    assert code == 0 and failed(report) == set()


def test_a_changed_byte_in_an_entry_row(history: History, tmp_path: Path) -> None:
    db = copy(history, tmp_path)
    with rows(db) as conn:
        seq, leaf = next(
            (q, bytes(v))
            for q, v in conn.execute("select seq, leaf from log_entry order by seq")
            if b"bank.csv" in bytes(v)
        )
        conn.execute("update log_entry set leaf = ? where seq = ?", (leaf.replace(b"bank.csv", b"bunk.csv"), seq))
    code, report = verify(db, history.vkey)
    assert code == 3 and ("log", "root") in failed(report)


def test_a_deleted_row(history: History, tmp_path: Path) -> None:
    db = copy(history, tmp_path)
    with rows(db) as conn:
        conn.execute("delete from log_entry where seq = 3")
    code, report = verify(db, history.vkey)
    assert code == 3 and {("log", "entries"), ("log", "coverage")} <= failed(report)


def test_two_rows_swapped(history: History, tmp_path: Path) -> None:
    db = copy(history, tmp_path)
    with rows(db) as conn:
        (a,), (b,) = conn.execute("select leaf from log_entry where seq in (3, 4) order by seq").fetchall()
        conn.execute("update log_entry set leaf = ? where seq = 3", (b,))
        conn.execute("update log_entry set leaf = ? where seq = 4", (a,))
    code, report = verify(db, history.vkey)
    assert code == 3 and ("log", "entries") in failed(report)


def test_rows_appended_behind_the_ledgers_back(history: History, tmp_path: Path) -> None:
    db = copy(history, tmp_path)
    logged = statements(db)
    extra = s.sign(
        history.world.parties["bank"],
        "artefact.register",
        {"digest": "sha256:" + "5" * 64, "name": "slipped-in.csv", "kind": "dataset"},
    )
    leaf = entry.encode(len(logged), entry.timestamp(), canonical(extra))
    with rows(db) as conn:
        conn.execute(
            "insert into log_entry (seq, leaf, statement_id) values (?, ?, ?)",
            (len(logged), leaf, bytes.fromhex(s.statement_id(extra)[7:])),
        )
    code, report = verify(db, history.vkey)
    assert code == 3 and ("log", "coverage") in failed(report)


def test_a_rollback_after_the_auditor_saw_a_newer_checkpoint(history: History, tmp_path: Path) -> None:
    state = tmp_path / "auditor"
    assert verify(copy(history, tmp_path), history.vkey, "--state", str(state))[0] == 0
    older = tmp_path / "older.db"
    write_log(older, statements(history.db)[:-5], history.key, ORIGIN)  # a backup the ledger once signed
    code, report = verify(older, history.vkey, "--state", str(state))
    assert code == 3 and ("log", "history") in failed(report)
    assert "rollback" in next(f["reason"] for f in report["log"] if f["check"] == "history")
    assert set(report["evidence"]) == {"trusted", "served"}


def test_a_second_ledger_with_the_same_key_that_diverges(history: History, tmp_path: Path) -> None:
    state = tmp_path / "auditor"
    assert verify(copy(history, tmp_path), history.vkey, "--state", str(state))[0] == 0
    logged = statements(history.db)
    other = s.sign(
        history.world.parties["bank"],
        "artefact.register",
        {"digest": "sha256:" + "6" * 64, "name": "other.csv", "kind": "dataset"},
    )
    fork = tmp_path / "fork.db"
    write_log(fork, [*logged[:-1], (entry.timestamp(), other), logged[-1]], history.key, ORIGIN)
    code, report = verify(fork, history.vkey, "--state", str(state))
    assert code == 3 and "fork" in next(f["reason"] for f in report["log"] if f["check"] == "history")
    assert report["evidence"]["served"] != report["evidence"]["trusted"]


def test_a_statement_re_signed_by_an_unregistered_key(history: History, tmp_path: Path) -> None:
    logged = statements(history.db)
    seq = next(i for i, (_, st) in enumerate(logged) if st["typ"] == "depa/artefact.register@1")
    at, original = logged[seq]
    logged[seq] = (at, s.sign(Signer.generate(), "artefact.register", original["body"], iat=original["iat"]))
    forged = tmp_path / "forged.db"
    write_log(forged, logged, history.key, ORIGIN)
    code, report = verify(forged, history.vkey)
    assert code == 1 and ("statements", "signer") in failed(report)
    assert any(f["seq"] == seq for f in report["findings"] if f["status"] == "fail")


def forged_run(history: History, run_id: str, **binding_changes: str) -> tuple[AgentKeys, dict]:
    keys, world = AgentKeys.generate(), history.world
    body = attest(keys, world.cid, run_id, fresh_nonce(world.ledger), world.producer(), allow_simulated=True)
    if binding_changes:
        body = body.model_copy(update={"binding": body.binding.model_copy(update=binding_changes)})
    return keys, s.sign(keys.signer, "attestation.report", body.model_dump(mode="json", exclude_none=True))


def test_a_budget_commit_past_the_cap_inserted_directly(history: History, tmp_path: Path) -> None:
    keys, attested = forged_run(history, "greedy")
    spend = {
        "run_id": "greedy",
        "contract_id": history.world.cid,
        "dataset": BANK,
        "delta": 1e-5,
        "segments": [{"noise_multiplier": 0.5, "sample_rate": 0.1, "steps": 5000}],
    }
    now = entry.timestamp()
    logged = [
        *statements(history.db),
        (now, attested),
        (now, s.sign(keys.signer, "budget.reserve", spend)),
        (now, s.sign(keys.signer, "budget.commit", spend)),
    ]
    forged = tmp_path / "forged.db"
    write_log(forged, logged, history.key, ORIGIN)
    code, report = verify(forged, history.vkey)
    assert code == 1 and {("budget", "cap"), ("budget", "spent")} <= failed(report)


def test_a_run_whose_report_data_does_not_match_its_binding(history: History, tmp_path: Path) -> None:
    _, attested = forged_run(history, "rebound", nonce="another checkpoint root")
    forged = tmp_path / "forged.db"
    write_log(forged, [*statements(history.db), (entry.timestamp(), attested)], history.key, ORIGIN)
    code, report = verify(forged, history.vkey)
    assert code == 1 and ("run", "attestation") in failed(report)
    reason = next(f["reason"] for f in report["findings"] if f["check"] == "attestation" and f["status"] == "fail")
    assert "report-data" in reason


@pytest.mark.parametrize("nonce", ["1970", "stale"])
def test_a_run_bound_to_no_checkpoint_or_a_stale_one_fails_the_audit(history: History, tmp_path: Path, nonce) -> None:
    """Evidence honestly bound to its nonce, logged by a ledger that did not check it: the audit does."""
    world, keys = history.world, AgentKeys.generate()
    if nonce == "stale":  # the checkpoint after entry 0, superseded when entry 1 was logged, hours ago
        nonce = f"1:{b64(merkle.leaf_hash(world.ledger.leaf(0)))}"
    body = attest(keys, world.cid, "late-run", nonce, world.producer(), allow_simulated=True)
    attested = s.sign(keys.signer, "attestation.report", body.model_dump(mode="json", exclude_none=True))
    later = entry.timestamp(datetime.now(UTC) + timedelta(hours=2))
    forged = tmp_path / "forged.db"
    write_log(forged, [*statements(history.db), (later, attested)], history.key, ORIGIN)
    code, report = verify(forged, history.vkey)
    assert code == 1 and ("run", "nonce") in failed(report)
    assert ("run", "attestation") not in failed(report)  # the evidence itself verifies: only its freshness fails


def test_the_honest_runs_nonces_pass(history: History, tmp_path: Path) -> None:
    _, report = verify(copy(history, tmp_path), history.vkey)
    assert [f["status"] for f in report["findings"] if f["check"] == "nonce"] == ["pass"]


def test_a_bundle_verifies_offline_and_a_tampered_one_does_not(history: History, tmp_path: Path) -> None:
    from auditor.snapshot import from_database, write_bundle

    bundle = tmp_path / "log.bundle.json"
    write_bundle(from_database(f"sqlite:///{history.db}"), bundle)
    ok = CliRunner().invoke(app, ["verify", "--bundle", str(bundle), "--vkey", history.vkey])
    assert ok.exit_code == 0, ok.output
    bundle.write_bytes(bundle.read_bytes().replace(b"bank.csv", b"bunk.csv", 1))
    assert CliRunner().invoke(app, ["verify", "--bundle", str(bundle), "--vkey", history.vkey]).exit_code == 3


def test_no_source_is_a_usage_error(history: History) -> None:
    assert CliRunner().invoke(app, ["verify", "--vkey", history.vkey]).exit_code != 0


def test_a_key_released_to_a_run_never_attested(history: History, tmp_path: Path) -> None:
    world = history.world
    body = {"run_id": "ghost", "contract_id": world.cid, "dataset": BANK, "recipient": AgentKeys.generate().recipient}
    release = s.sign(world.parties["bank"], "key.release", body)
    forged = tmp_path / "forged.db"
    write_log(forged, [*statements(history.db), (entry.timestamp(), release)], history.key, ORIGIN)
    code, report = verify(forged, history.vkey)
    assert code == 1 and ("statements", "signer") in failed(report)
    assert any("never attested" in f["reason"] for f in report["findings"])


def test_a_report_piped_to_a_file_keeps_every_character(history: History, tmp_path: Path) -> None:
    """Rich fits output to 80 columns when it is not a terminal: piped, 'of the cap 7.5' read 'of the cap 7'."""
    exe = str(Path(sys.executable).with_name("depa-audit"))
    args = [exe, "verify", "--database", f"sqlite:///{copy(history, tmp_path)}", "--vkey", history.vkey]
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "COLUMNS": "40"})
    assert done.returncode == 0, done.stderr
    assert history.world.operator.did in done.stdout  # 56 characters, on a line far past 80
    spent = [line for line in done.stdout.splitlines() if "spent:" in line]
    assert spent and all(re.search(r"of the cap 5\.0; the odometer reads \d+\.\d{4}$", line.rstrip()) for line in spent)


@pytest.mark.parametrize(
    ("launched", "check"), [({"policy_bits": 1 << 18}, "guest-policy"), ({"version": 6}, "report-format")]
)
def test_evidence_a_ledger_should_have_refused_fails_the_audit(
    history: History, tmp_path: Path, launched: dict, check: str
) -> None:
    """A migration-agent guest or an unknown report version, logged by a ledger that did not check."""
    world, keys = history.world, AgentKeys.generate()
    body = attest(keys, world.cid, "lenient-run", fresh_nonce(world.ledger), world.producer(), allow_simulated=True)
    report = world.simulator.report(report_data_for(body.binding), **launched)
    body = body.model_copy(update={"evidence": body.evidence.model_copy(update={"report": b64(report)})})
    assert check in attestation_failures(history, tmp_path, keys, body)


@pytest.mark.parametrize(
    ("qe", "check"),
    [({"mrsigner": "ab" * 32}, "qe-identity"), ({}, "measurement-pinned")],
    ids=["rogue-qe", "unpinned-image"],
)
def test_td_evidence_a_ledger_should_have_refused_fails_the_audit(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qe: dict, check: str
) -> None:
    """A quote from a host's own QE, or any TD under a contract that pins no image (a test PKI stands in for
    Intel's), logged by a ledger that did not check: depa-audit re-verifies."""
    pki = StandInPki()
    trust(pki, monkeypatch)
    world, keys = history.world, AgentKeys.generate()
    body = attest(keys, world.cid, "lenient-td", fresh_nonce(world.ledger), world.producer(), allow_simulated=True)
    body = body.model_copy(update={"evidence": tdx_evidence(pki, body.binding, **qe)})
    assert check in attestation_failures(history, tmp_path, keys, body)


def attestation_failures(
    history: History, tmp_path: Path, keys: AgentKeys, body: s.AttestationReport, before: list | None = None
) -> str:
    """What depa-audit says of an attestation a lenient ledger logged (after `before`, more logged statements):
    the reasons of its failed checks."""
    attested = s.sign(keys.signer, "attestation.report", body.model_dump(mode="json", exclude_none=True))
    forged = tmp_path / "forged.db"
    write_log(forged, [*statements(history.db), *(before or []), (entry.timestamp(), attested)], history.key, ORIGIN)
    code, report_json = verify(forged, history.vkey)
    reasons = [f["reason"] for f in report_json["findings"] if f["check"] == "attestation" and f["status"] == "fail"]
    assert code == 1 and reasons
    return "; ".join(reasons)


def test_a_term_the_evidence_cannot_answer_fails_the_audit(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A contract demanding an up-to-date TCB, a TD quote with no Intel collateral, logged by a lenient ledger."""
    pki = StandInPki()
    trust(pki, monkeypatch)
    world, keys = history.world, AgentKeys.generate()
    doc = world.contract_doc(tcb_status=["UpToDate"], measurements=[sample_mrtd()])
    cid = contract_id(doc)
    contract = [(entry.timestamp(), s.sign(world.parties["consumer"], "contract.propose", {"contract": doc}))]
    contract += [(entry.timestamp(), s.sign(p, "contract.sign", {"contract_id": cid})) for p in world.parties.values()]
    body = attest(keys, cid, "lenient-tcb", fresh_nonce(world.ledger), world.producer(), allow_simulated=True)
    body = body.model_copy(update={"evidence": tdx_evidence(pki, body.binding)})
    assert "tcb-status" in attestation_failures(history, tmp_path, keys, body, contract)
