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


@pytest.mark.parametrize("name", ["../evil", "/tmp/evil", "a/b", ".hidden", ""])
def test_a_key_name_cannot_reach_outside_its_folder(tmp_path: Path, name: str) -> None:
    exe = str(Path(sys.executable).with_name("depa-chain"))
    done = subprocess.run([exe, "keys", "new", name, "--dir", str(tmp_path / "keys")], capture_output=True,
                          text=True, cwd=tmp_path)  # fmt: skip
    assert done.returncode != 0 and done.stderr.count("\n") == 1 and "a key name is letters" in done.stderr
    assert not list(tmp_path.rglob("*.pem")) and not Path("/tmp/evil.pem").exists()


def test_a_vkey_of_another_ledger_is_named_as_such_not_as_tampering(tmp_path: Path) -> None:
    from chain.ledger.home import init_home
    from chain.tlog.checkpoint import vkey_of
    from schemas.keys import Signer

    home = tmp_path / "home"
    init_home(home, "ledger.one.example/depa")
    other = vkey_of("ledger.two.example/depa", Signer.generate())
    exe = str(Path(sys.executable).with_name("depa-audit"))
    done = subprocess.run([exe, "verify", "--database", f"sqlite:///{home / 'ledger.db'}", "--vkey", str(other)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "this ledger is ledger.one.example/depa; the vkey given is for ledger.two.example/depa" in done.stderr
    assert "tampered" not in done.stderr


def test_serving_on_a_busy_port_says_so_and_nothing_else(tmp_path: Path) -> None:
    import socket

    from chain.ledger.home import init_home

    init_home(tmp_path / "home", "ledger.test/depa")
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        exe = str(Path(sys.executable).with_name("depa-chain"))
        done = subprocess.run([exe, "serve", "--home", str(tmp_path / "home"), "--port", str(port)],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "serving" not in done.stderr
