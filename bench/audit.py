"""`depa-audit verify` over a large synthetic log: entries/s and peak memory, beside the machine's Ed25519 rate.

The log is written directly (as a ledger would have), signed statements and all: one operator, one party, and
artefact registrations, the commonest entry.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chain.ledger.sqlstore import SqlStore  # noqa: E402
from chain.ledger.store import Batch  # noqa: E402
from chain.tlog import entry, merkle  # noqa: E402
from chain.tlog.checkpoint import Checkpoint, sign_checkpoint, vkey_of  # noqa: E402
from chain.tlog.tree import Tree  # noqa: E402
from schemas import statement as s  # noqa: E402
from schemas.canonical import canonical  # noqa: E402
from schemas.keys import Signer  # noqa: E402

SIZE = int(os.environ.get("DEPA_BENCH_AUDIT_SIZE", "1000000"))
ORIGIN = "bench.depa.example/audit"


def write_log(db: Path, size: int, key: Signer | None = None, operator: Signer | None = None) -> str:
    """A log of `size` entries in a fresh database, checkpoints signed by `key`; returns the vkey."""
    operator, party, key = operator or Signer.generate(), Signer.generate(), key or Signer.generate()
    first = s.sign(
        operator,
        "party.register",
        {
            "did": party.did,
            "name": "p",
            "roles": ["TDP"],
            "x25519": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        },
    )
    store, tree, at = SqlStore(f"sqlite:///{db}"), Tree(), entry.timestamp()
    chunk: list[bytes] = []
    ids: list[bytes] = []
    start = 0
    for seq in range(size):
        st = (
            first
            if seq == 0
            else s.sign(
                party,
                "artefact.register",
                {
                    "digest": "sha256:" + hashlib.sha256(seq.to_bytes(8, "big")).hexdigest(),
                    "name": f"shard-{seq:07d}.parquet",
                    "kind": "dataset",
                    "format": "parquet",
                    "size": 1_048_576 + seq,
                },
            )
        )
        chunk.append(entry.encode(seq, at, canonical(st)))
        ids.append(bytes.fromhex(s.statement_id(st)[7:]))
        if len(chunk) == 10_000 or seq == size - 1:
            nodes = [n for leaf in chunk for n in tree.append(merkle.leaf_hash(leaf))]
            note = sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), key)
            store.append(Batch(start, chunk, ids, nodes, note))
            start, chunk, ids = tree.size, [], []
    store.close()
    return str(vkey_of(ORIGIN, key))


def _ed25519_rate(_: int) -> float:
    from bench.timing import rate
    from schemas.keys import verify

    signer = Signer.generate()
    message = b"x" * 400  # a statement's size
    signature = signer.sign(message)
    return rate(lambda: verify(signer.did, message, signature))


def ed25519_all_cores() -> float:
    """Ed25519 verifications/s with every core busy at once: the ceiling for an audit that checks every one."""
    from concurrent.futures import ProcessPoolExecutor

    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        return sum(pool.map(_ed25519_rate, range(cores)))


def _pss_kib(pid: int) -> int:
    """A live process's proportional set size (Linux smaps_rollup), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def audit_rate(size: int = SIZE) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "ledger.db"
        vkey = write_log(db, size)
        exe = Path(sys.executable).with_name("depa-audit")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(exe), "verify", "--database", f"sqlite:///{db}", "--vkey", vkey, "--json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        peak_kib = 0
        while proc.poll() is None:
            # Proportional set size, summed over the audit and its signature workers: shared pages count once.
            peak_kib = max(peak_kib, sum(_pss_kib(pid) for pid in [proc.pid, *_children(proc.pid)]))
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        peak = peak_kib / 1024
    return {
        "entries": size,
        "seconds": elapsed,
        "entries_per_s": size / elapsed,
        "peak_mb": peak,
        "exit_code": proc.returncode,
        "ed25519_all_cores": ed25519_all_cores(),
    }


if __name__ == "__main__":
    print(audit_rate())
