"""What the web console adds to `depa-chain` (by entry point, so the ledger imports nothing of it): the `console`
command, and the read-only console that `depa-chain serve` mounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chain.console import err


def console(
    home: Annotated[Path, typer.Option(help="The ledger to explore; made on first use.")] = Path(".demo/console/home"),
    runs: Annotated[Path, typer.Option(help="Where scenario runs keep their files.")] = Path(".demo/console/runs"),
    port: int = 8080,
    scenarios: Annotated[
        list[Path] | None,
        typer.Option("--scenarios", help="A folder of your own scenarios (`depa-ccr scenario new --dir`), repeatable."),
    ] = None,
) -> None:
    """The web console with the local scenario runner, on 127.0.0.1 only, behind a token printed here."""
    from chain.http_server import bind, run_server
    from webconsole.local import local_console

    sock = bind("127.0.0.1", port)
    app, runner = local_console(home, runs, scenarios or [])
    err.print(f"web console with the scenario runner: http://127.0.0.1:{port}/console/#token={runner.token}")
    err.print("the token is the runner's only key: it binds to 127.0.0.1, and anyone with the token can run scenarios")
    try:
        run_server(app, sock)
    finally:
        runner.close()


def served(app: Any, ledger: Any) -> tuple[str, str]:
    """The read-only console, mounted on a served ledger's app."""
    from webconsole.app import mount

    mount(app, ledger)
    return "web console (read-only)", "/console/"
