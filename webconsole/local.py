"""`depa-chain console`: a ledger of its own, the console, and the scenario runner, for one person's machine."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from chain.home import Settings, init_home, open_home
from chain.service import create_app
from webconsole.app import mount
from webconsole.runner import Runner

ORIGIN = "console.depa.example/local"


def local_console(home: Path, runs: Path) -> tuple[FastAPI, Runner]:
    """The app serving `home` (made if new) with the console and a runner keeping its runs under `runs`."""
    settings = Settings()
    if not (home / "ledger.json").exists():
        init_home(home, ORIGIN, settings)
    ledger = open_home(home, settings)
    runs.mkdir(parents=True, exist_ok=True)
    runner = Runner(runs.resolve())
    app = create_app(ledger, settings)
    mount(app, ledger, runner)
    return app, runner
