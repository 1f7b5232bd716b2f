"""Start a `depa-chain serve` process for a demo or a benchmark, and wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(
    home: Path, port: int, log: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A ledger serving `home` on 127.0.0.1:port, with more `serve` options and an environment if given."""
    exe = Path(sys.executable).with_name("depa-chain")
    cmd = [str(exe), "serve", "--home", str(home), "--port", str(port), *options]
    return start_process(cmd, f"http://127.0.0.1:{port}/v1/vkey", log, "the ledger", env=env)


def start_process(
    cmd: list[str], probe: str, log: Path, what: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a service and wait until `probe` answers (any HTTP status)."""
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited early; see {log}")
        try:
            httpx.get(probe, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{what} did not answer within 30 s; see {log}")
