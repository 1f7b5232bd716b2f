"""One scenario end to end, as its parties would run it: ledger, keys, contract, encrypted data, key brokers,
the clean-room run, the consumer decrypting the model, then the audit. `make demo SCENARIO=name` runs it.

Everything is left under .demo/NAME: the ledger home (`depa-chain serve --home .demo/NAME/ledger` brings it
back), the parties' keys, the encrypted data, the run's spec and the decrypted model.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pyrage
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ccr_agent.attest import Producer
from ccr_agent.run import Input, RunSpec, run
from ccr_agent.simulated import SimulatedTee
from chain.client import LedgerClient
from chain.ledger.home import init_home
from keybroker.seal import dataset_identity, seal
from scenarios import STEP, records
from scenarios.serve import free_port, start, start_process
from schemas import statement as s
from schemas.canonical import parse_json
from schemas.contract import contract_id
from schemas.digest import artefact_digest
from schemas.keys import Signer, new_identity, read_identity

DEMO = Path(os.environ.get("DEPA_DEMO_ROOT", Path(__file__).resolve().parents[1] / ".demo"))
console = Console(emoji=False, width=120)


def fill(template: str, values: dict[str, str]) -> dict:
    for key, value in values.items():
        template = template.replace("${" + key + "}", value)
    return parse_json(template)


class Demo:
    def __init__(self, name: str, scenario: ModuleType, root: Path | None = None) -> None:
        self.name, self.scenario = name, scenario
        self.root = root or DEMO / name
        self.step = lambda text: None
        self.folder = Path(scenario.__file__ or ".").parent
        self.procs: list[subprocess.Popen[bytes]] = []

    def run(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        (self.root / "logs").mkdir(parents=True)
        started = time.monotonic()
        console.rule(f"[bold]{self.scenario.TITLE}")
        try:
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console) as p:
                task = p.add_task("")
                self.step = lambda text: self._step(p, task, text)  # noqa: E731
                self.step("starting the ledger")
                self.set_up()
                report = run(
                    self.spec, Producer(simulator=self.simulator), step=lambda t: self.step(f"clean room: {t}")
                )
                self.step("the consumer decrypts the model")
                self.receive(report)
                self.step("the consumer checked the model")
            self.show(report)
        finally:
            self.stop()
        console.print(f"[bold]done in {time.monotonic() - started:.0f} s.[/] "
                      f"Inspect it again: depa-chain serve --home {self.root / 'ledger'}, "
                      "then open http://127.0.0.1:8000/console/, pin the key in vkey.txt and read with "
                      f"{self.root / 'keys' / 'auditor.pem'}")  # fmt: skip

    @staticmethod
    def _step(progress: Progress, task, text: str) -> None:
        progress.update(task, description=text)
        if not console.is_terminal:  # no live spinner to watch: one line a step, which the web console follows
            console.print(STEP + text, markup=False, highlight=False)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            proc.wait(timeout=10)
        self.procs.clear()

    def set_up(self) -> None:
        """Everything before the clean room runs: ledger, parties, contract, encrypted data, key brokers."""
        root, scenario = self.root, self.scenario
        config = init_home(root / "ledger", f"demo.depa.example/{self.name}")
        (root / "vkey.txt").write_text(config.vkey + "\n")
        port = free_port()
        self.procs.append(start(root / "ledger", port, root / "logs" / "ledger.log"))
        self.url, self.vkey = f"http://127.0.0.1:{port}", config.vkey
        self.client = LedgerClient(self.url, config.vkey, state_file=root / "client-state.json")
        operator = Signer.load(root / "ledger" / "operator.pem")

        self.step("registering parties")
        providers = sorted({p for p, _ in scenario.DATASETS.values()})
        roles = {"consumer": "TDC", "cloud": "CCRP", **dict.fromkeys(providers, "TDP"), "auditor": "AUDITOR"}
        self.keys: dict[str, Signer] = {}
        dids = {}
        for name, role in roles.items():
            signer, recipient = new_identity(root / "keys", name)
            self.keys[name] = signer
            dids[f"did:{name}"] = signer.did
            self.send(
                operator, "party.register", {"did": signer.did, "name": name, "roles": [role], "x25519": recipient}
            )
        self.client.read_as(self.keys["consumer"])  # the ledger serves its parties only: the consumer reads here

        self.step("providers generate, encrypt, register and cap their data")
        plain = scenario.generate(root / "providers")
        inputs: list = []
        brokers: dict[str, list[str]] = {}
        template = (self.folder / "contract.json").read_text()
        caps = {p["dataset"]: p for c in parse_json(template)["constraints"] for p in c.get("privacy", [])}
        for dataset, path in plain.items():
            provider = scenario.DATASETS[dataset][0]
            identity_file = root / "keys" / f"{provider}-{dataset[:8]}.age"
            encrypted = path.with_name(path.name + ".age")
            encrypted_digest = seal(path, dataset_identity(identity_file, dataset), encrypted)
            digest, size = artefact_digest(path)
            self.send(self.keys[provider], "artefact.register", {
                "digest": digest, "name": path.name, "kind": "dataset", "format": path.suffix.lstrip(".") or "png",
                "size": size, "encrypted_digest": encrypted_digest, "records": records(path),
            })  # fmt: skip
            if dataset in caps:  # the provider's cap on its data across every contract; this contract draws all of it
                cap = caps[dataset]
                body = {"dataset": digest, "epsilon": float(cap["epsilon_threshold"]), "delta": float(cap["delta"])}
                self.send(self.keys[provider], "dataset.cap", body)
            brokers.setdefault(provider, []).append(f"{dataset}={identity_file}")
            inputs.append((dataset, digest, encrypted, provider))

        base = self.bring_model(root / "consumer" / "base")
        self.step("the consumer proposes the contract on the registered data; every party signs it")
        self.simulator = SimulatedTee.open(root / "simulator")  # the cloud's clean room: no TEE on this machine
        now = datetime.now(UTC)
        doc = fill(template, {
            **dids, **{f"source:{d}": digest for d, digest, _, _ in inputs},
            "simulated_root": self.simulator.root.sha256,
            "start": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "expiry": (now + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        })  # fmt: skip
        if base is not None:
            doc["base_model"] = artefact_digest(base)[0]
        self.cid = contract_id(doc)
        (root / "contract.json").write_text(json.dumps(doc, indent=2) + "\n")
        self.send(self.keys["consumer"], "contract.propose", {"contract": doc})
        for name, role in roles.items():
            if role != "AUDITOR":  # the auditor is no party to the contract: it reads the whole log
                self.send(self.keys[name], "contract.sign", {"contract_id": self.cid})

        self.step("providers start their key brokers")
        urls = {}
        for provider, pairs in brokers.items():
            port = free_port()
            exe = str(Path(sys.executable).with_name("depa-keys"))
            cmd = [exe, "serve", "--key", str(root / "keys" / f"{provider}.pem"), "--ledger", self.url,
                   "--vkey", self.vkey, "--port", str(port), "--state", str(root / f"broker-{provider}.json"),
                   *[a for p in pairs for a in ("--dataset", p)]]  # fmt: skip
            log = root / "logs" / f"broker-{provider}.log"
            self.procs.append(start_process(cmd, f"http://127.0.0.1:{port}/docs", log, f"the {provider} key broker"))
            urls[provider] = f"http://127.0.0.1:{port}"
        self.spec = RunSpec(
            ledger=self.url, vkey=self.vkey, contract_id=self.cid, pipeline=self.folder / "pipeline_config.json",
            inputs=[Input(dataset=d, digest=g, file=f, broker=urls[p]) for d, g, f, p in inputs],
            output_dir=root / "outputs", simulator=root / "simulator", base_model=base,
        )  # fmt: skip
        (root / "run.json").write_text(self.spec.model_dump_json(indent=2) + "\n")

    def bring_model(self, folder: Path) -> Path | None:
        """The consumer's base model, where the scenario brings one: written, then registered by the consumer."""
        make = getattr(self.scenario, "base_model", None)
        if make is None:
            return None
        self.step("the consumer registers its base model")
        path: Path = make(folder)
        digest, size = artefact_digest(path)
        self.send(self.keys["consumer"], "artefact.register", {
            "digest": digest, "name": path.name, "kind": "model", "format": path.suffix.lstrip(".") or "folder",
            "size": size,
        })  # fmt: skip
        return path

    def send(self, signer: Signer, kind: str, body: dict) -> None:
        self.client.append(s.sign(signer, kind, body))

    def receive(self, report) -> None:
        """The consumer opens each output with its own age identity and checks it against the ledger."""
        identity = pyrage.x25519.Identity.from_str(read_identity(self.root / "keys" / "consumer.age"))
        self.received = {}
        for digest, sealed in report.outputs.items():
            target = self.root / "consumer" / sealed.name.removesuffix(".age")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(pyrage.decrypt(sealed.read_bytes(), [identity]))
            if artefact_digest(target)[0] != digest or self.client.artefact(digest).produced_by != report.run_id:
                raise SystemExit(f"{target.name} does not match what the clean room registered")
            self.received[target.name] = target

    def show(self, report) -> None:
        table = Table(title=f"run {report.run_id}: metrics on the held-out split")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in sorted(report.metrics.items()):
            table.add_row(key, f"{value:.4f}")
        console.print(table)
        budget = self.client.budget(self.cid)
        table = Table(title="privacy budget per dataset (epsilon at the contract's delta, RDP composed)")
        for col in ("dataset", "cap", "committed", "reserved", "remaining"):
            table.add_column(col, justify="right" if col != "dataset" else "left")
        for d in budget.datasets:
            table.add_row(d.dataset, f"{d.cap:g}", f"{d.committed_epsilon:.3f}", f"{d.reserved_epsilon:.3f}",
                          f"{d.remaining_epsilon:.3f}")  # fmt: skip
        console.print(table)
        console.print(f"[green]the consumer decrypted and checked[/]: {', '.join(sorted(self.received))}")
        cli = Path(sys.executable).with_name("depa-chain")
        # The model: an ONNX graph, or XGBoost's own JSON where the pipeline trains trees.
        model = next(d for d, p in report.outputs.items() if p.name in ("model.onnx.age", "model.json.age"))
        console.print("[bold]lineage of the model[/]")
        wide = {**os.environ, "COLUMNS": "120"}  # rich crops a tree to the terminal; there is none here
        consumer = str(self.root / "keys" / "consumer.pem")  # the model builder reads its model's lineage
        subprocess.run([str(cli), "lineage", model, "--ledger", self.url, "--vkey", self.vkey, "--key", consumer],
                       check=True, env=wide)  # fmt: skip
        run_view = self.client.run(report.run_id)
        _, attestation = self.client.proven(run_view.attestation_seq)
        evidence = self.root / "attestation.json"
        evidence.write_text(json.dumps(attestation.raw["body"], indent=2) + "\n")
        console.print("[bold]the run's attestation, re-verified by the auditor[/] (simulated TEE: INSECURE)")
        audit = [str(Path(sys.executable).with_name("depa-audit")), "attestation", "verify", str(evidence),
                 "--simulated-root", str(self.root / "simulator" / "chain.pem"), "--json"]  # fmt: skip
        verdict = json.loads(subprocess.run(audit, check=True, capture_output=True, text=True).stdout)[0]
        console.print(f"depa-audit attestation verify: verified={verdict['verified']}, security={verdict['security']}")
        self.step("the auditor verifies the whole ledger")
        console.print("[bold]the whole ledger, verified independently by the auditor[/]")
        whole = [audit[0], "verify", "--ledger", self.url, "--vkey", self.vkey, "--state", str(self.root / "auditor"),
                 "--key", str(self.root / "keys" / "auditor.pem")]  # fmt: skip
        done = subprocess.run(whole, env=wide)
        if done.returncode != 0:
            raise SystemExit(f"depa-audit verify failed with exit code {done.returncode}")


def main() -> None:
    """`python -m scenarios NAME|FOLDER`: a built-in scenario by name, or any scenario's folder."""
    from scenarios.scaffold import load

    given = sys.argv[1] if len(sys.argv) > 1 else "credit_risk"
    folder = Path(given)
    if folder.is_dir():
        Demo(folder.resolve().name, load(folder)).run()
    else:
        Demo(given, importlib.import_module(f"scenarios.{given}")).run()


if __name__ == "__main__":
    main()
