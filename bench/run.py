"""`make bench`: the ledger's figures, each beside the machine's own limit measured in this run.

- appends/s and p50/p99 append-to-receipt latency over HTTP, 64 connections, wrk driving
  pre-signed statements at a durable SQLite ledger;
- server-side inclusion-proof latency at 1,000,000 entries, read from the stored subtree hashes;
- database bytes per entry against statement bytes, after the ledger's clean shutdown;
- SEV-SNP report verifications/s (full, with the chain cached; signature only; uncached) beside
  the raw ECDSA P-384 verify rate;
- the clean-room agent's overhead over the bare trainer, and input decrypt + digest against raw age decryption;
- `depa-audit verify` entries/s and peak memory over a synthetic log, beside Ed25519 verifications/s;
- the web console's page latency over a 100,000-entry log, beside the ledger's own page read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pyrage
from rich.console import Console
from rich.progress import track
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import Figures, agent, audit  # noqa: E402
from bench import console as web  # noqa: E402
from bench.attestation import attestation_figures  # noqa: E402
from bench.timing import rate  # noqa: E402
from chain.ledger.home import init_home  # noqa: E402
from chain.ledger.sqlstore import SqlStore  # noqa: E402
from chain.ledger.store import Batch  # noqa: E402
from chain.tlog import merkle  # noqa: E402
from chain.tlog.tree import Tree  # noqa: E402
from scenarios.serve import free_port, start  # noqa: E402
from schemas import statement as s  # noqa: E402
from schemas.canonical import canonical  # noqa: E402
from schemas.keys import Signer, verify  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / ".bench"
console = Console(emoji=False, width=120)
DURATION = int(os.environ.get("DEPA_BENCH_SECONDS", "10"))
PROOF_SIZE = int(os.environ.get("DEPA_BENCH_PROOF_SIZE", "1000000"))


def artefact_statement(signer: Signer, i: int) -> dict:
    digest = "sha256:" + hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
    return s.sign(
        signer,
        "artefact.register",
        {
            "digest": digest,
            "name": f"shard-{i:07d}.parquet",
            "kind": "dataset",
            "format": "parquet",
            "size": 1_048_576 + i,
        },
    )


def machine_limits() -> dict[str, float]:
    signer = Signer.generate()
    st = artefact_statement(signer, 0)
    msg = canonical({k: v for k, v in st.items() if k != "sig"})
    sig = signer.sign(msg)
    return {
        "ed25519": rate(lambda: verify(signer.did, msg, sig)),
        "jcs": rate(lambda: canonical(st)),
    }


def parse_wrk(text: str) -> dict[str, float]:
    def ms(v: str) -> float:
        num, unit = re.match(r"([\d.]+)(\w+)", v).groups()  # type: ignore[union-attr]
        return float(num) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50": ms(lat["50"]),
        "p99": ms(lat["99"]),
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
    }


def http_appends() -> Figures:
    home = OUT / "ledger"
    config = init_home(home, "bench.depa.example/ledger")
    port = free_port()
    server = start(home, port, OUT / "ledger.log")
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        operator, tdp = Signer.load(home / "operator.pem"), Signer.generate()
        reg = s.sign(
            operator,
            "party.register",
            {
                "did": tdp.did,
                "name": "bench",
                "roles": ["TDP"],
                "x25519": str(pyrage.x25519.Identity.generate().to_public()),
            },
        )
        httpx.post(
            url + "/v1/statements", content=canonical(reg), headers={"content-type": "application/json"}
        ).raise_for_status()
        count = DURATION * 6000
        bodies = OUT / "bodies.jsonl"
        with bodies.open("wb") as f:
            for i in track(range(count), description="pre-signing statements", console=console):
                f.write(canonical(artefact_statement(tdp, i)) + b"\n")
        statement_bytes = bodies.stat().st_size / count
        before = httpx.get(url + "/v1/log").json()["size"]
        console.print(f"wrk: 64 connections for {DURATION} s against {url}")
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                "-c64",
                f"-d{DURATION}s",
                "--latency",
                "-s",
                str(Path(__file__).with_name("append.lua")),
                url,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "DEPA_BENCH_BODIES": str(bodies)},
            check=True,
        ).stdout
        after = httpx.get(url + "/v1/log").json()["size"]
        figures: Figures = parse_wrk(out)
    finally:
        server.terminate()
        server.wait(timeout=30)
    db = sum(p.stat().st_size for p in home.glob("ledger.db*"))
    figures.update(
        {
            "appended": after - before,
            "appends_per_s": (after - before) / DURATION,
            "bytes_per_entry": db / after,
            "statement_bytes": statement_bytes,
            "vkey": config.vkey,
        }
    )
    return figures


def serve_start(runs: int = 3) -> Figures:
    """How long `depa-chain serve` takes to answer its first request on a fresh home, beside an interpreter that
    only imports the libraries it serves with: the floor no code of ours goes under."""
    home = OUT / "start"
    init_home(home, "bench.depa.example/start")
    served, floor = [], []
    for _ in range(runs):
        began = time.perf_counter()
        proc = start(home, free_port(), OUT / "start.log")  # returns once the ledger answers
        served.append(time.perf_counter() - began)
        proc.terminate()
        proc.wait(10)
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import fastapi, uvicorn, sqlalchemy, nacl"], check=True)
        floor.append(time.perf_counter() - began)
    return {"first_answer_s": statistics.median(served), "imports_s": statistics.median(floor)}


def inclusion_at_scale(size: int) -> dict[str, float]:
    """Build a log of `size` small synthetic entries, then time proofs read from its stored nodes."""
    path = OUT / f"proofs-{size}.db"
    store = SqlStore(f"sqlite:///{path}")
    tree, chunk = Tree(), 20_000
    for first in track(range(0, size, chunk), description=f"building a {size:,}-entry log", console=console):
        leaves = [b'{"seq":%d}' % i for i in range(first, min(first + chunk, size))]
        nodes = [n for leaf in leaves for n in tree.append(merkle.leaf_hash(leaf))]
        ids = [hashlib.sha256(leaf).digest() for leaf in leaves]
        store.append(Batch(first, leaves, ids, nodes, "bench"))
    import random

    rng = random.Random(7)
    timings = []
    for _ in range(2000):
        seq = rng.randrange(size)
        t0 = time.perf_counter()
        proof = merkle.inclusion_proof(seq, size, store.read_nodes)
        timings.append((time.perf_counter() - t0) * 1000)
        merkle.verify_inclusion(seq, size, store.read_nodes([(0, seq)])[0], proof, tree.root())
    timings.sort()
    store.close()
    return {"p50": statistics.median(timings), "p99": timings[int(len(timings) * 0.99)]}


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    limits = machine_limits()
    http = http_appends()
    started = serve_start()
    proofs = inclusion_at_scale(PROOF_SIZE)
    attestation = attestation_figures()
    console.print("clean-room runs: through the agent and bare, alternately")
    inputs = agent.input_rates()
    demo_run = agent.agent_overhead()
    long_run = agent.agent_overhead(epochs=agent.LONG_EPOCHS, rounds=2)
    console.print(f"depa-audit verify over a {audit.SIZE:,}-entry log")
    audited = audit.audit_rate()
    console.print(f"the web console's API over a {web.SIZE:,}-entry log")
    pages = web.console_latencies()
    table = Table(title=f"depa-chain ledger bench ({os.cpu_count()} cores, SQLite WAL synchronous=FULL)")
    for col in ("figure", "measured", "target", "machine limit (same run)"):
        table.add_column(col)
    ok = lambda good: "[green]" if good else "[red]"  # noqa: E731
    table.add_row(
        "appends/s over HTTP (64 conn)",
        f"{ok(http['appends_per_s'] >= 3000)}{http['appends_per_s']:,.0f}",
        ">= 3,000",
        f"{limits['ed25519']:,.0f} Ed25519 verify/s, {limits['jcs']:,.0f} JCS/s (1 core)",
    )
    table.add_row("append-to-receipt p50", f"{http['p50']:.1f} ms", "", "")
    table.add_row(
        "serve: first answer, fresh home",
        f"{ok(started['first_answer_s'] <= 2)}{started['first_answer_s']:.2f} s",
        "<= 2 s",
        f"python importing fastapi, uvicorn, sqlalchemy, nacl: {started['imports_s']:.2f} s",
    )
    table.add_row("append-to-receipt p99", f"{ok(http['p99'] <= 50)}{http['p99']:.1f} ms", "<= 50 ms", "")
    table.add_row("non-2xx responses", f"{http['errors']:.0f}", "0", "")
    table.add_row(
        f"inclusion proof at {PROOF_SIZE:,} (p50/p99)",
        f"{ok(proofs['p99'] < 1)}{proofs['p50']:.3f} / {proofs['p99']:.3f} ms",
        "< 1 ms",
        "",
    )
    ratio = http["bytes_per_entry"] / http["statement_bytes"]
    table.add_row(
        "database bytes per entry",
        f"{ok(ratio <= 2)}{http['bytes_per_entry']:,.0f} ({ratio:.2f}x statement)",
        "<= 2x statement",
        f"statement {http['statement_bytes']:,.0f} B",
    )
    ecdsa = attestation["ecdsa_p384"]
    share = attestation["full_cached"] / ecdsa
    table.add_row(
        "SEV-SNP verifications/s, cached chain",
        f"{ok(share >= 0.8)}{attestation['full_cached']:,.0f} ({share:.0%} of ECDSA)",
        ">= 80% of ECDSA P-384",
        f"{ecdsa:,.0f} ECDSA P-384 verify/s (1 core)",
    )
    table.add_row(
        "SEV-SNP verifications/s, signature only",
        f"{attestation['signature_only']:,.0f} ({attestation['signature_only'] / ecdsa:.0%})",
        "",
        f"report: {attestation['source']}",
    )
    table.add_row("SEV-SNP verifications/s, chain not cached", f"{attestation['full_uncached']:,.0f}", "", "")
    for label, r in (("as the demo trains", demo_run), (f"{agent.LONG_EPOCHS} epochs", long_run)):
        table.add_row(
            f"agent overhead, {r['scenario']} ({label})",
            f"{ok(r['overhead'] <= 0.05)}{r['overhead']:.1%} (+{r['agent_s'] - r['bare_s']:.2f} s)",
            "<= 5% of the bare run",
            f"bare trainer {r['bare_s']:.2f} s, through the agent {r['agent_s']:.2f} s",
        )
    share = inputs["open_mb_s"] / inputs["age_decrypt_mb_s"]
    table.add_row(
        "input decrypt + SHA-256, MB/s",
        f"{ok(share >= 0.8)}{inputs['open_mb_s']:,.0f} ({share:.0%} of age decrypt)",
        ">= 80% of raw age decrypt",
        f"pyrage.decrypt {inputs['age_decrypt_mb_s']:,.0f}, streaming decrypt_io {inputs['age_decrypt_io_mb_s']:,.0f}, "
        f"SHA-256 {inputs['sha256_mb_s']:,.0f} MB/s",
    )
    table.add_row(
        f"depa-audit verify, {audited['entries']:,} entries",
        f"{ok(audited['entries_per_s'] >= 10_000)}{audited['entries_per_s']:,.0f} entries/s, "
        f"peak {audited['peak_mb']:,.0f} MB",
        ">= 10,000/s (2 cores), < 500 MB at 1M",
        f"{audited['ed25519_all_cores']:,.0f} Ed25519 verify/s on all {os.cpu_count()} cores",
    )
    raw = pages["ledger page /v1/entries (50)"]
    worst = max((f["p99"], name) for name, f in pages.items() if name.startswith(("newest", "page", "type", "party")))
    table.add_row(
        f"console entries page at {web.SIZE:,}, worst p99",
        f"{ok(worst[0] <= 100)}{worst[0]:.1f} ms ({worst[1]})",
        "<= 100 ms",
        f"the ledger's own 50-entry read: p99 {raw['p99']:.1f} ms",
    )
    scan = pages["time filter, no match"]
    table.add_row("console time filter matching nothing", f"p99 {scan['p99']:.1f} ms", "", "")
    table.add_row(
        "console first filter / first lineage (once)",
        f"{pages['index build (first filtered page)']['once']:.2f} s / "
        f"{pages['first lineage (replays the log)']['once']:.2f} s",
        "",
        f"lineage after: p99 {pages['lineage after']['p99']:.1f} ms",
    )
    console.print(table)
    results = {"limits": limits, "http": http, "start": started, "proofs": proofs, "attestation": attestation,
               "agent": {"inputs": inputs, "demo": demo_run, "long": long_run}, "audit": audited,
               "console": pages}  # fmt: skip
    (OUT / "results.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
