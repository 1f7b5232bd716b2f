"""`python bench/start.py [--entries N]`: how long a ledger takes to start, and `fsck` to check, at N entries.

The start reads every stored entry and node back and checks them against the leaves (chain/ledger/integrity.py);
fsck adds every stored checkpoint. The log is the synthetic one of bench/audit.py, written once per size
under .bench/ and reused.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.audit import ORIGIN, write_log  # noqa: E402
from chain.ledger.integrity import scan  # noqa: E402
from chain.ledger.ledger import Ledger  # noqa: E402
from chain.ledger.sqlstore import SqlStore  # noqa: E402
from chain.tlog.checkpoint import VerifierKey, vkey_of  # noqa: E402
from schemas.keys import Signer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    n = parser.parse_args().entries
    folder = Path(".bench") / f"start-{n}"
    folder.mkdir(parents=True, exist_ok=True)
    db, key_file, operator_file = folder / "ledger.db", folder / "checkpoint.pem", folder / "operator.pem"
    if not db.exists():
        key, operator = Signer.generate(), Signer.generate()
        key_file.write_bytes(key.pem())
        operator_file.write_bytes(operator.pem())
        began = time.perf_counter()
        write_log(db, n, key, operator)
        print(f"wrote {n:,} entries in {time.perf_counter() - began:.1f} s", flush=True)
    key, operator = Signer.load(key_file), Signer.load(operator_file)
    store = SqlStore(f"sqlite:///{db}")
    began = time.perf_counter()
    Ledger(store, ORIGIN, key, operator.did)
    start = time.perf_counter() - began
    began = time.perf_counter()
    found = scan(store, VerifierKey.parse(str(vkey_of(ORIGIN, key))), operator.did, thorough=True, stop=False)
    fsck = time.perf_counter() - began
    store.close()
    print(f"{n:,} entries: start {start:.1f} s ({n / start:,.0f} entries/s); fsck {fsck:.1f} s "
          f"({found.nodes:,} nodes, {found.checkpoints:,} checkpoints, {len(found.problems)} problems)")  # fmt: skip


if __name__ == "__main__":
    main()
