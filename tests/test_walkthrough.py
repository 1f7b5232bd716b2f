"""docs/walkthrough.md, run as written: its shell blocks in order, in one bash, in a fresh folder holding only
what a clone holds (the walkthrough's files) and the venv. The README's own example is checked the same way."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
import typer.main

from tests.test_cli_usage import CLIS

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGH = ROOT / "docs" / "walkthrough.md"


def shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", markdown, flags=re.S | re.M)


def run_as_written(script: str, cwd: Path, timeout: int, **settings: str) -> subprocess.CompletedProcess[str]:
    """bash -e over the blocks, with no DEPA_ setting but `settings`; every process it started is stopped
    however it ends."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DEPA_")}, **settings}
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, output, "")


def test_the_walkthrough_runs_as_written_from_init_to_audit(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "docs" / "walkthrough", tmp_path / "docs" / "walkthrough")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    blocks = shell_blocks(WALKTHROUGH.read_text())
    assert len(blocks) >= 10
    done = run_as_written("\n".join(blocks), tmp_path, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:]
    walk = tmp_path / "walk"
    assert (walk / "model.onnx").stat().st_size > 0 and (walk / "model.tlog-proof").exists()
    assert "verified" in done.stdout and "offline" in done.stdout
    assert "pass  root: the Merkle root of its" in done.stdout  # the transcript, against run.complete
    assert "VERIFIED" in done.stdout


def test_the_shell_blocks_are_what_the_test_runs() -> None:
    blocks = shell_blocks("intro\n```sh\necho one\n```\ntext\n```python\nno\n```\n```sh\necho two\n```\n")
    assert blocks == ["echo one\n", "echo two\n"]


@pytest.mark.parametrize("doc", ["README.md", "docs/walkthrough.md", "docs/clean-room.md", "docs/audit.md"])
def test_every_command_a_doc_names_exists(doc: str) -> None:
    """Each `depa-* SUBCOMMAND` a document shows is a command of that CLI, so no document names one that is gone
    (the tree is read from the apps the entry points run; test_cli_usage runs them as installed)."""
    text = (ROOT / doc).read_text()
    named = set(re.findall(r"\b(depa-(?:chain|ccr|audit|keys)) ([a-z]+(?: [a-z]+)?)", text))
    assert named
    for cli, words in sorted(named):
        command = typer.main.get_command(CLIS[cli])
        first, *rest = words.split()
        found = command.commands.get(first)  # type: ignore[attr-defined]
        assert found is not None, f"{doc}: {cli} has no command {first!r}"
        if rest and hasattr(found, "commands"):
            assert rest[0] in found.commands, f"{doc}: {cli} {first} has no command {rest[0]!r}"


def test_the_readmes_example_runs_as_written(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Running a ledger") : readme.index("### The web console")]
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    done = run_as_written("\n".join(shell_blocks(section)), tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "VERIFIED" in done.stdout and "is consistent" in done.stdout
