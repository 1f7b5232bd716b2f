"""The ledger end to end on SQLite: parties, a contract signed by all, artefacts with lineage,
a clean room's attestation (the simulated TEE the contract pins: INSECURE, and labelled so),
receipts verified offline with nothing but the vkey. `make demo` runs it.

It leaves its ledger home under .demo/ledger/ledger and the parties' keys beside it, so
`depa-chain serve --home .demo/ledger/ledger` brings the collaboration back for inspection.
"""

from __future__ import annotations

import csv
import random
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ccr_agent.attest import AgentKeys, Producer, attest  # noqa: E402
from ccr_agent.simulated import SimulatedTee  # noqa: E402
from chain.client import LedgerClient  # noqa: E402
from chain.ledger.home import init_home  # noqa: E402
from chain.tlog.checkpoint import VerifierKey  # noqa: E402
from chain.tlog.freshness import nonce_for  # noqa: E402
from chain.tlog.receipt import Receipt  # noqa: E402
from scenarios.serve import free_port, start  # noqa: E402
from schemas import statement as s  # noqa: E402
from schemas.canonical import canonical  # noqa: E402
from schemas.contract import contract_id  # noqa: E402
from schemas.digest import artefact_digest  # noqa: E402
from schemas.keys import Signer, new_identity  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / ".demo" / "ledger"
PARTIES = [("consumer", "TDC"), ("bank", "TDP"), ("bureau", "TDP"), ("cloud", "CCRP")]
console = Console(emoji=False)


def make_data(folder: Path, name: str, rows: int, seed: int) -> Path:
    """A small synthetic table with a fixed seed: the same bytes, the same digest, every run."""
    rng = random.Random(seed)
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "income", "balance", "defaulted"])
        for i in range(rows):
            w.writerow([i, rng.randint(10_000, 200_000), rng.randint(0, 50_000), int(rng.random() < 0.1)])
    return path


def contract(parties: dict[str, tuple[Signer, str]], data: dict[str, Path], simulator: SimulatedTee) -> dict:
    now = datetime.now(UTC)
    datasets = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "name": path.name,
            "owner": name,
            "provider": parties[name][0].did,
            "url": f"file://{path.name}",
            "key": {"type": "age"},
        }
        for name, path in data.items()
    ]
    return {
        "id": str(uuid.uuid4()),
        "schemaVersion": "0.1",
        "startTime": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "expiryTime": (now + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "tdc": parties["consumer"][0].did,
        "tdps": [parties["bank"][0].did, parties["bureau"][0].did],
        "ccrp": parties["cloud"][0].did,
        "datasets": datasets,
        "purpose": "TRAINING",
        "constraints": [
            {"privacy": [{"dataset": d["id"], "epsilon_threshold": "7.5", "delta": "0.00001"} for d in datasets]}
        ],
        "terms": {"payment": {}, "revocation": {}},
        "recipients": [parties["consumer"][0].did],
        # No TEE on a demo machine: the parties opt in to this one simulator, by its root's pin.
        "ccr": {"allow_simulated": True, "simulated_roots": [simulator.root.sha256]},
    }


def main() -> None:
    shutil.rmtree(ROOT, ignore_errors=True)
    home, keys, data_dir, receipts = ROOT / "ledger", ROOT / "keys", ROOT / "data", ROOT / "receipts"
    for d in (keys, data_dir, receipts):
        d.mkdir(parents=True)
    config = init_home(home, "demo.depa.example/ledger")
    (ROOT / "vkey.txt").write_text(config.vkey + "\n")
    console.print(f"[bold]ledger[/] {config.origin} on SQLite at {home}; vkey [cyan]{config.vkey}[/]")
    port = free_port()
    server = start(home, port, ROOT / "ledger.log")
    operator = Signer.load(home / "operator.pem")
    saved: list[Path] = []
    try:
        client = LedgerClient(f"http://127.0.0.1:{port}", config.vkey, state_file=ROOT / "client-state.json")

        def send(signer: Signer, kind: str, body: dict, name: str) -> Receipt:
            receipt = client.append(s.sign(signer, kind, body))
            path = receipts / f"{receipt.seq:03d}-{name}.tlog-proof"
            path.write_text(receipt.to_tlog_proof())
            saved.append(path)
            return receipt

        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("registering parties", total=len(PARTIES))
            parties: dict[str, tuple[Signer, str]] = {}
            for name, role in PARTIES:
                signer, recipient = new_identity(keys, name)
                parties[name] = (signer, recipient)
                send(
                    operator,
                    "party.register",
                    {"did": signer.did, "name": name, "roles": [role], "x25519": recipient},
                    f"party-{name}",
                )
                progress.advance(task)

            data = {"bank": make_data(data_dir, "bank", 2000, 1), "bureau": make_data(data_dir, "bureau", 2000, 2)}
            simulator = SimulatedTee.open(ROOT / "simulator")
            doc = contract(parties, data, simulator)
            (ROOT / "contract.json").write_text(canonical(doc).decode())
            cid = contract_id(doc)
            client.read_as(parties["consumer"][0])  # the ledger serves its parties only
            send(parties["consumer"][0], "contract.propose", {"contract": doc}, "propose")
            task = progress.add_task("collecting signatures", total=len(PARTIES))
            for name, _ in PARTIES:
                send(parties[name][0], "contract.sign", {"contract_id": cid}, f"sign-{name}")
                progress.advance(task)

            digests = {}
            for name, path in data.items():
                digest, size = artefact_digest(path)
                digests[name] = digest
                send(
                    parties[name][0],
                    "artefact.register",
                    {
                        "digest": digest,
                        "name": path.name,
                        "kind": "dataset",
                        "format": "csv",
                        "size": size,
                        "contract_id": cid,
                    },
                    f"dataset-{name}",
                )
            pipeline = data_dir / "pipeline_config.json"
            pipeline.write_text('{"pipeline": [{"name": "Join", "config": {"on": "customer_id"}}]}\n')
            digest, size = artefact_digest(pipeline)
            send(
                parties["consumer"][0],
                "artefact.register",
                {
                    "digest": digest,
                    "name": pipeline.name,
                    "kind": "config",
                    "format": "json",
                    "size": size,
                    "contract_id": cid,
                    "derived_from": list(digests.values()),
                },
                "pipeline",
            )

            agent = AgentKeys.generate()
            nonce = nonce_for(client.checkpoint())
            producer = Producer(tsm_root=ROOT / "no-tsm", sev_device=ROOT / "no-sev-guest", simulator=simulator)
            body = attest(agent, cid, "demo-run-1", nonce, producer, allow_simulated=True)
            attestation = ROOT / "attestation.json"
            attestation.write_bytes(canonical(body.model_dump(mode="json", exclude_none=True)))
            send(agent.signer, "attestation.report", body.model_dump(mode="json", exclude_none=True), "attestation")

        view = client.contract(cid)
        table = Table(title=f"contract {cid[:23]}... is [bold green]{view.state}[/]")
        table.add_column("party")
        table.add_column("signed at entry")
        for sig in view.signatures:
            table.add_row(sig.name, str(sig.seq))
        console.print(table)

        vkey = VerifierKey.parse(config.vkey)
        for path in saved:
            Receipt.from_tlog_proof(path.read_text()).verify(vkey)
        client.checkpoint()
        console.print(f"[green]verified offline[/]: {len(saved)} receipts in {receipts}, with the vkey alone")
        cli = str(Path(sys.executable).with_name("depa-chain"))
        subprocess.run([cli, "receipt", "verify", str(saved[-1]), "--vkey", config.vkey], check=True)
        console.print("[bold]the run's attestation, re-verified by the auditor (simulated TEE: INSECURE)[/]")
        audit = str(Path(sys.executable).with_name("depa-audit"))
        subprocess.run(
            [
                audit,
                "attestation",
                "verify",
                str(attestation),
                "--simulated-root",
                str(ROOT / "simulator" / "chain.pem"),
            ],
            check=True,
        )
        console.print("[bold]lineage of the bank's dataset[/]")
        bank = str(keys / "bank.pem")
        subprocess.run([cli, "lineage", digests["bank"], "--ledger", client.url, "--vkey", config.vkey, "--key", bank],
                       check=True)  # fmt: skip
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    console.print(f"[bold]done.[/] Inspect it again: depa-chain serve --home {home}")


if __name__ == "__main__":
    main()
