"""Every command of the four CLIs, as installed: a usage error is one line on stderr naming the help, exit 2."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import typer.main

from auditor.cli import app as audit_app
from ccr_agent.cli import app as ccr_app
from chain.cli import app as chain_app
from keybroker.cli import app as keys_app

CLIS = {"depa-chain": chain_app, "depa-ccr": ccr_app, "depa-audit": audit_app, "depa-keys": keys_app}


def commands(command, path: list[str]):  # type: ignore[no-untyped-def]
    subs = getattr(command, "commands", None)
    yield path
    for name, sub in (subs or {}).items():
        yield from commands(sub, [*path, name])


CASES = [(cli, path) for cli, app in CLIS.items() for path in commands(typer.main.get_command(app), [])]


@pytest.mark.parametrize(("cli", "path"), CASES, ids=[" ".join([c, *p]) for c, p in CASES])
def test_an_unknown_option_is_one_line_and_exit_2(cli: str, path: list[str]) -> None:
    exe = str(Path(sys.executable).with_name(cli))
    done = subprocess.run([exe, *path, "--no-such-option"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "No such option: --no-such-option" in done.stderr and f"{' '.join([cli, *path])} --help" in done.stderr


@pytest.mark.parametrize(
    "args", [["depa-chain", "contract", "sign"], ["depa-audit", "verify"], ["depa-chain", "receipt", "verify"]]
)
def test_a_missing_argument_is_one_line_and_exit_2(args: list[str]) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name(args[0])), *args[1:]], capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Missing" in done.stderr


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_every_cli_says_its_version(cli: str) -> None:
    done = subprocess.run([str(Path(sys.executable).with_name(cli)), "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == f"{cli} {metadata.version('depa-chain')}\n"
