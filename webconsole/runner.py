"""The local scenario runner of `depa-chain console`: runs `python -m scenarios NAME` and streams its output.

It only ever starts the two programs it knows, as argument lists (never a shell string), on scenario names it
discovered itself. The HTTP edge checks the token; this module trusts its caller.
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

import scenarios
from scenarios import STEP
from scenarios.scaffold import load
from scenarios.serve import free_port, start_process
from schemas.errors import Conflict, NotFound

SCENARIOS = Path(scenarios.__file__).parent


class Scenario(BaseModel):
    name: str
    folder: Path = Field(exclude=True)  # what the engine runs; the page needs only the name
    title: str
    description: str
    datasets: dict[str, tuple[str, str]]  # dataset id -> (provider, file)
    contract: dict  # the template: ${...} is filled in when it runs
    pipeline: dict


def discover(extra: Sequence[Path] = ()) -> list[Scenario]:
    """Every clean-room scenario: the packages under scenarios/, then each scenario folder in `extra` (as
    `depa-ccr scenario new` writes them); of two with one name, the first."""
    folders = [p for p in sorted(SCENARIOS.iterdir()) if (p / "contract.json").is_file()]
    folders += [p for root in extra for p in sorted(root.iterdir()) if (p / "contract.json").is_file()]
    found: list[Scenario] = []
    for folder in folders:
        if folder.name in {s.name for s in found}:
            continue
        module = importlib.import_module(f"scenarios.{folder.name}") if folder.parent == SCENARIOS else load(folder)
        found.append(
            Scenario(
                name=folder.name,
                folder=folder.resolve(),
                title=module.TITLE,
                description=(module.__doc__ or "").strip(),
                datasets=module.DATASETS,
                contract=json.loads((folder / "contract.json").read_text()),
                pipeline=json.loads((folder / "pipeline_config.json").read_text()),
            )
        )
    return found


class RunState(BaseModel):
    id: str
    scenario: str
    status: str  # running, passed, failed
    exit_code: int | None
    steps: list[str]
    lines: int
    folder: str
    explore: str | None = None  # the URL of its ledger's console, once opened
    vkey: str | None = None  # its ledger's checkpoint key, from the run's own folder


class ScenarioRun:
    def __init__(self, run_id: str, scenario: str, folder: Path) -> None:
        self.id, self.scenario, self.folder = run_id, scenario, folder
        self.lines: list[str] = []
        self.steps: list[str] = []
        self.exit_code: int | None = None
        self.explore: str | None = None
        self.changed = threading.Condition()

    def state(self) -> RunState:
        status = "running" if self.exit_code is None else "passed" if self.exit_code == 0 else "failed"
        return RunState(
            id=self.id, scenario=self.scenario, status=status, exit_code=self.exit_code, steps=list(self.steps),
            lines=len(self.lines), folder=str(self.folder), explore=self.explore, vkey=self._vkey(),
        )  # fmt: skip

    def _vkey(self) -> str | None:
        path = self.folder / self.scenario / "vkey.txt"
        return path.read_text().strip() if path.is_file() else None

    def read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                if line.startswith(STEP):
                    self.steps.append(line[len(STEP) :].strip())
                self.changed.notify_all()
        with self.changed:
            self.exit_code = proc.wait()
            self.changed.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        """Block until there is output beyond `seen` lines, the run ends, or `timeout` passes."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.lines) > seen or self.exit_code is not None, timeout)


class Runner:
    """One scenario at a time, each in its own folder under `root`; what it started, it stops on close."""

    def __init__(self, root: Path, extra: Sequence[Path] = ()) -> None:
        self.root, self.extra = root, tuple(extra)
        self.token = secrets.token_urlsafe(32)
        self.runs: dict[str, ScenarioRun] = {}
        self._procs: list[subprocess.Popen] = []
        self._lock = threading.Lock()

    def start(self, name: str) -> ScenarioRun:
        scenario = next((s for s in self.scenarios() if s.name == name), None)
        if scenario is None:
            raise NotFound(f"no scenario {name!r} under scenarios/ or the folders given with --scenarios")
        with self._lock:
            if any(r.exit_code is None for r in self.runs.values()):
                raise Conflict("a scenario is already running; wait for it to finish")
            run_id = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
            run = ScenarioRun(run_id, name, self.root / run_id)
            # The engine keeps its files under DEPA_DEMO_ROOT/NAME: each run gets a folder of its own.
            env = {**os.environ, "DEPA_DEMO_ROOT": str(run.folder), "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
            which = name if scenario.folder.parent == SCENARIOS else str(scenario.folder)  # built in, or a folder
            proc = subprocess.Popen(
                [sys.executable, "-m", "scenarios", which],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=SCENARIOS.parent,
                start_new_session=True,  # its own process group: close() stops the ledger and brokers it started too
            )  # fmt: skip
            self._procs.append(proc)
            self.runs[run_id] = run
        threading.Thread(target=run.read, args=(proc,), daemon=True).start()
        return run

    def scenarios(self) -> list[Scenario]:
        return discover(self.extra)

    def get(self, run_id: str) -> ScenarioRun:
        run = self.runs.get(run_id)
        if run is None:
            raise NotFound(f"no scenario run {run_id}")
        return run

    def explore(self, run_id: str) -> str:
        """Serve a finished run's ledger with its console; return the console's URL."""
        run = self.get(run_id)
        if run.exit_code is None:
            raise Conflict(f"run {run_id} is still going; its ledger is busy")
        if run.explore is None:
            home = run.folder / run.scenario / "ledger"
            if not (home / "ledger.json").is_file():
                raise NotFound(f"run {run_id} left no ledger to explore")
            port = free_port()
            cmd = [str(Path(sys.executable).with_name("depa-chain")), "serve", "--home", str(home), "--port", str(port)]
            log = run.folder / "explore.log"
            env = {**os.environ, "DEPA_READ": "public"}  # a demo ledger on this machine's loopback, as the console
            self._procs.append(start_process(cmd, f"http://127.0.0.1:{port}/v1/vkey", log, "the run's ledger", env))
            run.explore = f"http://127.0.0.1:{port}/console/"
        return run.explore

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                if _leads_group(proc):
                    os.killpg(proc.pid, signal.SIGTERM)
                else:
                    proc.terminate()
                proc.wait(timeout=10)


def _leads_group(proc: subprocess.Popen) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False
