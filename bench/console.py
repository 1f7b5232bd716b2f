"""The web console's API on a 100,000-entry log: page latency per filter, beside the ledger's own page read.

Run alone with `python bench/console.py`; `make bench` runs it too.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.audit import ORIGIN, write_log  # noqa: E402
from chain.client import SignedReads  # noqa: E402
from chain.ledger.ledger import Ledger  # noqa: E402
from chain.ledger.service import create_app  # noqa: E402
from chain.ledger.sqlstore import SqlStore  # noqa: E402
from schemas.keys import Signer  # noqa: E402
from tests.world import serving  # noqa: E402
from webconsole.app import mount  # noqa: E402

SIZE = int(os.environ.get("DEPA_BENCH_CONSOLE_SIZE", "100000"))
REQUESTS = 200


def latencies(client: httpx.Client, path: str, params: dict | None = None) -> dict[str, float]:
    """p50 and p99 in ms of REQUESTS sequential GETs (keep-alive), after one warm-up."""
    client.get(path, params=params).raise_for_status()
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(times, n=100)
    return {"p50": cuts[49], "p99": cuts[98]}


def console_latencies() -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        db, key, operator = Path(tmp) / "ledger.db", Signer.generate(), Signer.generate()
        write_log(db, SIZE, key, operator)
        ledger = Ledger(SqlStore(f"sqlite:///{db}"), ORIGIN, key, operator.did)
        app = create_app(ledger)
        mount(app, ledger)
        # Every read signed by the operator (RFC 9421), as a ledger serving its parties only needs
        with serving(app) as url, httpx.Client(base_url=url, timeout=600, auth=SignedReads(operator)) as client:
            start = time.perf_counter()
            client.get("/console/api/entries", params={"kind": "party.register"}).raise_for_status()
            figures = {"index build (first filtered page)": {"once": time.perf_counter() - start}}
            cases = {
                "ledger page /v1/entries (50)": ("/v1/entries", {"start": SIZE - 50, "limit": 50}),
                "static file": ("/console/static/app.js", None),
                "newest page": ("/console/api/entries", None),
                "page at entry 50,000": ("/console/api/entries", {"before": SIZE // 2}),
                "type filter, 1 match": ("/console/api/entries", {"kind": "party.register"}),
                "type filter, dense": ("/console/api/entries", {"kind": "artefact.register"}),
                "party filter": ("/console/api/entries", {"party": "p"}),
                "time filter, no match": ("/console/api/entries", {"until": "2000-01-01T00:00:00Z"}),
                "one entry": (f"/console/api/entries/{SIZE // 2}", None),
                "receipt": (f"/v1/entries/{SIZE // 2}/receipt", None),
            }
            for name, (path, params) in cases.items():
                figures[name] = latencies(client, path, params)
            start = time.perf_counter()
            digest = client.get("/console/api/artefacts", params={"limit": 1}).json()[0]["digest"]
            client.get(f"/console/api/lineage/{digest}").raise_for_status()
            figures["first lineage (replays the log)"] = {"once": time.perf_counter() - start}
            figures["lineage after"] = latencies(client, f"/console/api/lineage/{digest}")
        return figures


def main() -> None:
    for name, f in console_latencies().items():
        shown = f"{f['once']:.2f} s once" if "once" in f else f"p50 {f['p50']:.2f} ms, p99 {f['p99']:.2f} ms"
        print(f"{name:40s} {shown}")


if __name__ == "__main__":
    main()
