"""A database the auditor cannot read is one line on stderr and exit 2 ("could not check"), never a traceback
and never exit 1, which means the log broke a rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chain.tlog.checkpoint import vkey_of
from schemas.keys import Signer

AUDIT = str(Path(sys.executable).with_name("depa-audit"))


def test_an_unreadable_database_is_one_line_and_exit_2() -> None:
    vkey = str(vkey_of("ledger.test/depa", Signer.generate()))
    args = [AUDIT, "verify", "--database", "sqlite:////nonexistent/x/ledger.db", "--vkey", vkey]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "the database cannot be used" in done.stderr
