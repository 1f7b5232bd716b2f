"""The local scenario runner: what it runs, and who may ask it to."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from chain import cli
from scenarios.scaffold import ScenarioSpec, scaffold
from schemas.errors import Conflict, NotFound
from tests.world import serving
from webconsole.local import local_console
from webconsole.runner import Runner, discover


def test_discovers_every_clean_room_scenario_with_its_contract_and_pipeline():
    found = {sc.name: sc for sc in discover()}
    assert set(found) == {"credit_risk", "disease_surveillance", "medical_imaging"}
    assert found["credit_risk"].contract["purpose"] == "TRAINING"
    assert found["credit_risk"].pipeline["pipeline"]


@pytest.mark.parametrize("name", ["ledger_demo", "credit_risk; rm -rf /", "../chain", "engine"])
def test_refuses_any_name_it_did_not_discover(tmp_path, name):
    with pytest.raises(NotFound):
        Runner(tmp_path).start(name)


def test_starts_python_with_an_argument_list_never_a_shell(tmp_path, monkeypatch):
    started = []

    class Recorder:
        stdout = iter(())

        def __init__(self, args, **options):
            started.append((args, options))

        def wait(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", Recorder)
    run = Runner(tmp_path).start("credit_risk")
    ((args, options),) = started
    assert args == [sys.executable, "-m", "scenarios", "credit_risk"]
    assert not options.get("shell") and options["env"]["DEPA_DEMO_ROOT"] == str(run.folder)


def test_runs_a_scenario_of_your_own_from_the_folders_it_was_given(tmp_path, monkeypatch):
    spec = {"scenario_name": "own", "tdps": [{"name": "lab", "datasets": [{"name": "tests"}]}]}
    folder = scaffold(ScenarioSpec.model_validate(spec), tmp_path / "mine")
    assert "own" in {sc.name for sc in discover([tmp_path / "mine"])} and "own" not in {sc.name for sc in discover()}
    started = []

    class Recorder:
        stdout = iter(())

        def __init__(self, args, **options):
            started.append(args)

        def wait(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", Recorder)
    Runner(tmp_path / "runs", [tmp_path / "mine"]).start("own")
    assert started == [[sys.executable, "-m", "scenarios", str(folder.resolve())]]


@pytest.fixture
def console(tmp_path):
    app, runner = local_console(tmp_path / "home", tmp_path / "runs")
    with serving(app) as url, httpx.Client(base_url=url) as client:
        yield client, runner
    runner.close()


@pytest.mark.parametrize("token", [None, "Bearer wrong", "Basic d3Jvbmc6d3Jvbmc="])
def test_the_runner_refuses_requests_without_its_token(console, token):
    client, _ = console
    headers = {"Authorization": token} if token else {}
    for answer in (client.get("/console/api/scenarios", headers=headers),
                   client.post("/console/api/scenarios/credit_risk/runs", headers=headers)):  # fmt: skip
        assert answer.status_code == 403
        assert "token" in answer.json()["detail"]


def test_the_runner_lists_scenarios_with_its_token(console):
    client, runner = console
    answer = client.get("/console/api/scenarios", headers={"Authorization": f"Bearer {runner.token}"})
    assert answer.status_code == 200 and len(answer.json()) == 3
    assert client.get("/console/api/summary").json()["runner"] is True


def test_an_unknown_run_is_404(console):
    client, runner = console
    answer = client.get("/console/api/runs/nope", headers={"Authorization": f"Bearer {runner.token}"})
    assert answer.status_code == 404


def test_the_console_command_binds_to_loopback_only(tmp_path, monkeypatch):
    from chain import http_server

    seen = {}
    monkeypatch.setattr(http_server, "run_server", lambda app, sock, **options: seen.update(address=sock.getsockname()))
    args = ["console", "--home", str(tmp_path / "h"), "--runs", str(tmp_path / "r"), "--port", "0"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert seen["address"][0] == "127.0.0.1"
    assert "#token=" in result.output


def test_closing_stops_a_running_scenario_and_what_it_started(tmp_path, monkeypatch):
    pid_file = tmp_path / "grandchild.pid"
    spawn = (
        "import subprocess, sys, time, pathlib; "
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"pathlib.Path({str(pid_file)!r}).write_text(str(child.pid)); "
        "print('step: started', flush=True); time.sleep(60)"
    )
    real = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen", lambda args, **kw: real([sys.executable, "-c", spawn], **kw))
    runner = Runner(tmp_path)
    run = runner.start("credit_risk")
    run.wait(0, 10)
    assert run.steps == ["started"]
    grandchild = int(pid_file.read_text())
    runner.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(grandchild):
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"  # a zombie has exited


def test_one_scenario_runs_at_a_time(tmp_path, monkeypatch):
    real = subprocess.Popen
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    monkeypatch.setattr(subprocess, "Popen", lambda args, **kw: real(sleeper, **kw))
    runner = Runner(tmp_path)
    try:
        runner.start("credit_risk")
        with pytest.raises(Conflict, match="already running"):
            runner.start("medical_imaging")
    finally:
        runner.close()


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8080", "10.0.0.5"])
def test_a_rebound_dns_name_reaches_nothing(console, host):
    client, runner = console
    answer = client.get("/console/api/scenarios", headers={"Host": host, "Authorization": f"Bearer {runner.token}"})
    assert answer.status_code == 403 and "127.0.0.1 or localhost" in answer.json()["detail"]


def test_a_write_from_another_origin_is_refused(console):
    client, runner = console
    headers = {"Origin": "http://attacker.example", "Authorization": f"Bearer {runner.token}"}
    answer = client.post("/console/api/scenarios/credit_risk/runs", headers=headers)
    assert answer.status_code == 403 and "only pages of this console may write" in answer.json()["detail"]
    own = {"Origin": str(client.base_url).rstrip("/"), "Content-Type": "application/json"}
    assert client.post("/v1/statements", content=b"{}", headers=own).status_code == 422  # past the guard
