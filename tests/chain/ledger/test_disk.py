"""A read-only database or a full disk: every command says so in one line with its documented exit code, and a
served ledger answers 503 while the disk is full, loses nothing, and takes appends again once there is room.

Each case runs in a private mount namespace (`unshare -m`), where the test may mount a read-only bind or a
tiny tmpfs without touching the machine's own mounts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chain.ledger.home import init_home
from scenarios.serve import free_port, start
from schemas import statement as s
from schemas.canonical import canonical
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient

BIN = Path(sys.executable).parent
JSON = {"content-type": "application/json"}


def _namespaces() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces(), reason="needs root and mount namespaces (unshare -m)")


def registration(operator: Signer) -> bytes:
    did = Signer.generate().did
    body = {"did": did, "name": f"p-{did[-10:]}", "roles": ["TDP"], "x25519": age_recipient()}
    return canonical(s.sign(operator, "party.register", body))


def in_namespace(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    init_home(home, ORIGIN)
    return home


def test_a_read_only_home_is_one_line_and_the_documented_exit_code_from_every_command(home: Path) -> None:
    vkey = (home / "ledger.json").read_text().split('"vkey": "')[1].split('"')[0]
    commands = {
        "depa-audit verify": (f"{BIN}/depa-audit verify --database sqlite:///{home}/ledger.db --vkey '{vkey}'", 2),
        "depa-chain fsck": (f"{BIN}/depa-chain fsck --home {home}", 2),
        "depa-chain serve": (f"timeout 30 {BIN}/depa-chain serve --home {home} --port {free_port()}", 1),
    }
    for name, (command, code) in commands.items():
        done = in_namespace(f"mount --bind {home} {home} && mount -o remount,bind,ro {home} && {command}")
        assert done.returncode == code, (name, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: the database cannot be used"), (name, done.stderr)


def test_a_full_disk_answers_503_loses_nothing_and_appends_resume_once_there_is_room(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    done = in_namespace(
        f"mount -t tmpfs -o size=2m tmpfs {disk} && "
        f"{sys.executable} -c 'from tests.chain.ledger.test_disk import fill_serve_and_free; "
        f'fill_serve_and_free("{disk}", "{tmp_path / "ledger.log"}")\''
    )
    assert done.returncode == 0, done.stdout + done.stderr


def fill_serve_and_free(disk: str, log: str) -> None:
    """Inside the namespace: serve a ledger on a 2 MB tmpfs, fill the disk, append, free it, append again."""
    home = Path(disk) / "home"
    init_home(home, ORIGIN)
    operator, port = Signer.load(home / "operator.pem"), free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(home, port, Path(log))
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.post("/v1/statements", content=registration(operator), headers=JSON).status_code == 201
            filler = Path(disk) / "filler"
            with filler.open("wb") as f:
                try:
                    while True:
                        f.write(b"\0" * 65536)
                        f.flush()
                except OSError:
                    pass
            full = [http.post("/v1/statements", content=registration(operator), headers=JSON) for _ in range(30)]
            codes = {r.status_code for r in full}
            assert codes <= {201, 503} and 503 in codes, codes
            assert all(r.headers["content-type"] == "application/problem+json" for r in full if r.status_code == 503)
            assert all("sqlite" not in r.text.lower() for r in full)  # internals stay in the operator's log
            filler.unlink()
            resumed = [http.post("/v1/statements", content=registration(operator), headers=JSON) for _ in range(3)]
            assert [r.status_code for r in resumed] == [201, 201, 201], [r.text for r in resumed]
            assert http.get("/v1/ready").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    check = subprocess.run([f"{BIN}/depa-chain", "fsck", "--home", str(home)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
