"""`depa-chain console`: a ledger of its own, the console, and the scenario runner, for one person's machine."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from chain.http_server import problem
from chain.ledger.home import Settings, init_home, open_home
from chain.ledger.service import create_app
from webconsole.app import mount
from webconsole.runner import Runner

ORIGIN = "console.depa.example/local"


def local_console(home: Path, runs: Path, scenarios: Sequence[Path] = ()) -> tuple[FastAPI, Runner]:
    """The app serving `home` (made if new) with the console and a runner keeping its runs under `runs`."""
    settings = Settings(read="public")  # one person's ledger on loopback, behind the runner's token
    if not (home / "ledger.json").exists():
        init_home(home, ORIGIN, settings)
    ledger = open_home(home, settings)
    runs.mkdir(parents=True, exist_ok=True)
    runner = Runner(runs.resolve(), scenarios)
    app = create_app(ledger, settings)
    mount(app, ledger, runner)
    app.add_middleware(LoopbackOnly)
    return app, runner


LOOPBACK = {"127.0.0.1", "localhost", "[::1]"}


class LoopbackOnly:
    """A page on another site cannot reach the runner: its Host must be a loopback name (a rebound DNS name is
    refused) and a write's Origin, when a browser sends one, must be this very host and port."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            host = headers.get("host", "")
            origin = headers.get("origin")
            refusal = None
            if host.rsplit(":", 1)[0] not in LOOPBACK:
                refusal = f"this console answers only on 127.0.0.1 or localhost, not on {host!r}"
            elif scope["method"] not in ("GET", "HEAD") and origin is not None and origin != f"http://{host}":
                refusal = f"a write from {origin} is refused: only pages of this console may write"
            if refusal is not None:
                response = problem(403, "not-allowed", "NotAllowed", refusal)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
