"""`python bench/hammer.py [--seconds N] [--database URL]`: the ledger under load and attack, killed at random.

In the spirit of Tessera's hammer. For a bounded time, writer threads send a mix of valid statements, replays,
malformed and malicious ones (the inputs that once stopped or confused the ledger), while the server is
killed with SIGKILL at random moments and started again. At the end:
- every statement that got a receipt is in the final log, provable under the final checkpoint;
- every checkpoint any writer saw is consistent with the final one (one client, pinned vkey, checks each);
- the server was always ready again after a restart, and answered no 500;
- `depa-audit verify` passes over the whole log.
Exit 0 when all hold, 1 otherwise; the counts are printed as a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chain.client import LedgerClient, SignedReads  # noqa: E402
from chain.ledger.home import init_home  # noqa: E402
from chain.tlog.checkpoint import VerifierKey  # noqa: E402
from chain.tlog.receipt import Receipt  # noqa: E402
from scenarios.serve import free_port, start  # noqa: E402
from schemas import statement as s  # noqa: E402
from schemas.canonical import canonical  # noqa: E402
from schemas.errors import DepaError  # noqa: E402
from schemas.keys import Signer, new_identity  # noqa: E402

JSON = {"content-type": "application/json"}


def kind_of(roll: float) -> str:
    return "valid" if roll < 0.6 else "replay" if roll < 0.75 else "attack"


class Hammer:
    def __init__(self, url: str, vkey: VerifierKey, operator: Signer, recipient: str) -> None:
        self.url, self.vkey, self.operator, self.recipient = url, vkey, operator, recipient
        self.counts: Counter[str] = Counter()
        self.receipts: dict[str, Receipt] = {}  # statement id -> receipt
        self.sent: list[dict] = []  # statements sent, for replays
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def registration(self) -> dict:
        did = Signer.generate().did
        body = {"did": did, "name": f"h-{did[-10:]}", "roles": ["TDP"], "x25519": self.recipient}
        return s.sign(self.operator, "party.register", body)

    def attack(self, rng: random.Random) -> tuple[str, str, str, bytes, dict[str, str]]:
        """(label, method, path, body, headers) of one malformed or malicious request."""
        deep: object = 1
        for _ in range(300):
            deep = [deep]
        stranger = s.sign(Signer.generate(), "budget.reserve", {
            "run_id": "r", "contract_id": "sha256:" + "a" * 64, "dataset": "d", "delta": 1e-5,
            "segments": [{"noise_multiplier": 3e8, "sample_rate": 0.3, "steps": 2**53 - 1}]})  # fmt: skip
        nested = self.registration()
        nested["body"]["aliases"] = [json.dumps(deep)]  # a string, so only a parser that counts text fails it
        choices = [
            ("not JSON", "POST", "/v1/statements", b"{not json", JSON),
            ("UTF-16", "POST", "/v1/statements", json.dumps(self.registration()).encode("utf-16"), JSON),
            ("text/plain", "POST", "/v1/statements", canonical(self.registration()), {"content-type": "text/plain"}),
            ("300 levels", "POST", "/v1/statements", b"[" * 300 + b"]" * 300, JSON),
            ("stranger's poison budget", "POST", "/v1/statements", canonical(stranger), JSON),
            ("bad signature", "POST", "/v1/statements", canonical({**self.registration(), "sig": "A" * 86}), JSON),
            ("seq 2^63", "GET", "/v1/entries/9223372036854775808", b"", {}),  # signed by the operator, as all
            ("start 2^63", "GET", "/v1/entries?start=9223372036854775808", b"", {}),
            ("unsigned read", "GET", "/v1/entries/0", b"", {}),  # the only attack sent without a signature
            ("bare checkpoint as cosignature", "POST", "/v1/checkpoint/cosignatures", b"", {}),
            ("oversized", "POST", "/v1/statements", b" " * 70_000, JSON),
        ]
        return rng.choice(choices)

    def writer(self, seed: int) -> None:
        rng = random.Random(seed)
        client = LedgerClient(self.url, self.vkey)
        while not self.stop.is_set():
            roll = rng.random()
            try:
                if roll < 0.6:
                    statement = self.registration()
                    self._append(client, statement, "valid")
                elif roll < 0.75 and self.sent:
                    with self.lock:
                        statement = rng.choice(self.sent)
                    self._append(client, statement, "replay")
                else:
                    label, method, path, body, headers = self.attack(rng)
                    if label == "bare checkpoint as cosignature":
                        body = httpx.get(self.url + "/v1/checkpoint", timeout=5).content
                    auth = None if label == "unsigned read" else SignedReads(self.operator)
                    resp = httpx.request(method, self.url + path, content=body or None, headers=headers, timeout=10,
                                         auth=auth)  # fmt: skip
                    self._count(f"attack: {label}", resp.status_code)
            except (httpx.HTTPError, OSError) as exc:
                self.counts[f"connection lost ({type(exc).__name__})"] += 1
                time.sleep(0.05)
            except DepaError as exc:  # a refusal, or the ledger unreachable while it restarts
                self.counts[f"{kind_of(roll)} refused: {type(exc).__name__}"] += 1
                if exc.status >= 500 and exc.status != 503:
                    self.counts["answers of 500 or above (not 503)"] += 1
        client.close()

    def _append(self, client: LedgerClient, statement: dict, kind: str) -> None:
        receipt = client.append(statement)  # verified against the vkey and the client's last checkpoint
        with self.lock:
            self.receipts[receipt.statement_id] = receipt
            if kind == "valid":
                self.sent.append(statement)
        self.counts[f"{kind}: receipt"] += 1

    def _count(self, label: str, status: int) -> None:
        self.counts[f"{label}: {status}"] += 1
        if status >= 500 and status != 503:
            self.counts["answers of 500 or above (not 503)"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--database", help="a PostgreSQL URL; SQLite in a temporary home otherwise")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng, out = random.Random(args.seed), Console()
    root = Path(tempfile.mkdtemp(prefix="depa-hammer-"))
    home = root / "home"
    if args.database:
        os.environ["DEPA_DATABASE_URL"] = args.database
    config = init_home(home, "hammer.depa.example/log")
    vkey, operator = VerifierKey.parse(config.vkey), Signer.load(home / "operator.pem")
    _, recipient = new_identity(root, "party")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(home, port, root / "ledger.log")
    hammer = Hammer(url, vkey, operator, recipient)
    threads = [threading.Thread(target=hammer.writer, args=(args.seed * 100 + i,)) for i in range(args.writers)]
    for t in threads:
        t.start()
    kills, deadline = 0, time.monotonic() + args.seconds
    with out.status("hammering") as status:
        while time.monotonic() < deadline:
            time.sleep(rng.uniform(1.0, 6.0))
            server.send_signal(signal.SIGKILL)
            server.wait()
            kills += 1
            server = start(home, port, root / f"ledger-{kills}.log")
            ready = httpx.get(url + "/v1/ready", timeout=10).status_code
            hammer.counts[f"ready after restart: {ready}"] += 1
            status.update(f"hammering: {kills} kills, {sum(hammer.counts.values())} requests")
    hammer.stop.set()
    for t in threads:
        t.join(30)
    problems = _final_checks(url, vkey, hammer)
    server.send_signal(signal.SIGTERM)
    server.wait(30)
    audit = subprocess.run(
        [str(Path(sys.executable).with_name("depa-audit")), "verify", "--database",
         os.environ.get("DEPA_DATABASE_URL") or f"sqlite:///{home / 'ledger.db'}", "--vkey", str(vkey)],
        capture_output=True, text=True,
    )  # fmt: skip
    if audit.returncode != 0:
        problems.append(f"depa-audit verify exited {audit.returncode}: {audit.stderr.strip()[-300:]}")
    table = Table(title=f"hammer: {args.seconds:g} s, {args.writers} writers, {kills} SIGKILLs")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, count in sorted(hammer.counts.items()):
        table.add_row(label, str(count))
    table.add_row("statements with a receipt", str(len(hammer.receipts)))
    out.print(table)
    for problem in problems:
        out.print(f"[red]FAILED:[/] {problem}")
    if not problems:
        out.print(f"[green]every receipt provable under the final checkpoint; depa-audit verify passed[/] ({root})")
    return 1 if problems else 0


def _final_checks(url: str, vkey: VerifierKey, hammer: Hammer) -> list[str]:
    problems = []
    if hammer.counts["answers of 500 or above (not 503)"]:
        problems.append(f"{hammer.counts['answers of 500 or above (not 503)']} answers were a 5xx other than 503")
    if any(label.startswith("ready after restart") and not label.endswith("200") for label in hammer.counts):
        problems.append("a restarted ledger was not ready")
    with LedgerClient(url, vkey, reader=hammer.operator) as client:  # the operator reads every entry
        final = client.checkpoint()
        for receipt in hammer.receipts.values():
            cp, logged = receipt.verify(vkey)
            client.observe(receipt.checkpoint, cp)  # raises ForkError unless consistent with the final one
            try:
                stored, _ = client.proven(logged.seq, final)  # included under the final checkpoint, signature good
            except DepaError as exc:
                problems.append(f"entry {logged.seq} with a receipt is not provable under the final checkpoint: {exc}")
                continue
            if stored != logged:
                problems.append(f"entry {logged.seq} under the final checkpoint is not the one its receipt names")
    return problems


if __name__ == "__main__":
    sys.exit(main())
