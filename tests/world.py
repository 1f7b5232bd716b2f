"""A small collaboration running for real in this process: a ledger and two key brokers served over HTTP,
parties, an active contract capping two datasets, encrypted data registered, and a run spec ready to go."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyrage
import uvicorn

from ccr_agent.attest import Producer
from ccr_agent.run import Input, RunSpec
from ccr_agent.simulated import SimulatedTee
from chain.client import LedgerClient
from chain.ledger.home import init_home
from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from chain.ledger.store import MemoryStore, Store
from keybroker.release import Broker
from keybroker.service import create_app as broker_app
from scenarios.serve import free_port, start
from schemas import statement as s
from schemas.canonical import sha256_digest
from schemas.contract import contract_id
from schemas.digest import artefact_digest
from schemas.keys import Signer
from tests.conftest import ORIGIN

BANK, BUREAU = "ds-bank", "ds-bureau"
ROWS = 2000


@contextmanager
def serving(app) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def serving_home(root: Path, *options: str, **env: str) -> Iterator[int]:
    """`depa-chain serve` as installed, on a fresh home under `root`, with DEPA_* settings from `env`; the port."""
    home = root / "home"
    init_home(home, "ledger.test/depa")
    port = free_port()
    server = start(home, port, root / "serve.log", *options, env={**os.environ, **env})
    try:
        yield port
    finally:
        server.terminate()
        server.wait(10)


@dataclass
class World:
    root: Path
    ledger: Ledger
    url: str
    operator: Signer
    parties: dict[str, Signer]
    identities: dict[str, pyrage.x25519.Identity]  # party name -> its age identity
    simulator: SimulatedTee
    cid: str = ""
    inputs: list[Input] = field(default_factory=list)
    dataset_keys: dict[str, str] = field(default_factory=dict)

    @property
    def vkey(self) -> str:
        return str(self.ledger.vkey)

    def client(self, party: str | None = None) -> LedgerClient:
        """A client reading as this party (the operator, who reads everything, if none is named)."""
        return LedgerClient(self.url, self.vkey, reader=self.parties[party] if party else self.operator)

    def send(self, who: str, kind: str, body: dict) -> None:
        self.ledger.append(s.from_raw(s.sign(self.parties[who], kind, body)))

    def contract_doc(self, **ccr: object) -> dict:
        """Another contract for the same parties and data, under other clean-room terms."""
        doc = self.ledger.registry.contracts[self.cid].raw
        return {**doc, "id": f"test-{len(self.ledger.registry.contracts)}", "ccr": {**doc["ccr"], **ccr}}

    def spec(self, pipeline: dict | None = None, **changes) -> RunSpec:
        path = self.root / f"pipeline-{len(list(self.root.glob('pipeline-*')))}.json"
        path.write_text(json.dumps(pipeline or PIPELINE))
        base = {"ledger": self.url, "vkey": self.vkey, "contract_id": self.cid, "pipeline": path,
                "inputs": self.inputs, "output_dir": self.root / "outputs"}  # fmt: skip
        return RunSpec(**{**base, **changes})

    def producer(self) -> Producer:
        return Producer(tsm_root=self.root / "no-tsm", sev_device=self.root / "no-sev", simulator=self.simulator)


PIPELINE = {
    "pipeline": [
        {"name": "SparkJoin", "config": {
            "datasets": [{"id": BANK, "name": "bank", "file": "bank.csv"},
                         {"id": BUREAU, "name": "bureau", "file": "bureau.parquet"}],
            "joined_dataset": {"joining_key": "customer_id", "identifiers": ["customer_id"]}}},
        {"name": "Train_DL", "config": {
            "is_private": True,
            "privacy_params": {"epsilon": 2.0, "delta": 1e-5, "max_grad_norm": 1.0, "sample_rate": 0.04},
            "batch_size": 64, "total_epochs": 1, "optimizer": {"name": "SGD", "params": {"lr": 0.5}},
            "model_config": {"hidden": [8]},
            "dataset_config": {"target_variable": "TARGET", "splits": {"test": 0.2, "random_state": 1},
                               "features": {"income": {"bounds": [-5, 5]}, "overdue": {"bounds": [-5, 5]}},
                               "classes": [0, 1]}}},
    ]
}  # fmt: skip


def tables(seed: int = 7) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids, risk = np.arange(ROWS), rng.normal(size=ROWS)
    return {
        BANK: pd.DataFrame({"customer_id": ids, "income": rng.normal(size=ROWS) - risk,
                            "TARGET": (risk + rng.normal(scale=0.5, size=ROWS) > 0.5).astype(int)}),
        BUREAU: pd.DataFrame({"customer_id": ids, "overdue": risk + rng.normal(scale=0.5, size=ROWS)}),
    }  # fmt: skip


def build(
    root: Path,
    simulator: SimulatedTee,
    *,
    sign_all: bool = True,
    store: Store | None = None,
    checkpoint_key: Signer | None = None,
    base_model: Path | None = None,
) -> World:
    """Parties, the contract (signed by all unless told not to), both datasets encrypted and registered; with
    `base_model`, the consumer registers it and the contract names it."""
    operator = Signer.generate()
    ledger = Ledger(store or MemoryStore(), ORIGIN, checkpoint_key or Signer.generate(), operator.did)
    world = World(root, ledger, "", operator, {}, {}, simulator)
    for name, role in [("consumer", "TDC"), ("bank", "TDP"), ("bureau", "TDP"), ("cloud", "CCRP")]:
        signer, identity = Signer.generate(), pyrage.x25519.Identity.generate()
        world.parties[name], world.identities[name] = signer, identity
        body = {"did": signer.did, "name": name, "roles": [role], "x25519": str(identity.to_public())}
        ledger.append(s.from_raw(s.sign(operator, "party.register", body)))
    now = datetime.now(UTC)
    did = {n: p.did for n, p in world.parties.items()}
    doc = {
        "id": "test", "schemaVersion": "0.1", "purpose": "TRAINING",
        "startTime": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expiryTime": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tdc": did["consumer"], "tdps": [did["bank"], did["bureau"]], "ccrp": did["cloud"],
        "datasets": [{"id": BANK, "provider": did["bank"]}, {"id": BUREAU, "provider": did["bureau"]}],
        "constraints": [{"privacy": [{"dataset": BANK, "epsilon_threshold": 5, "delta": 1e-5},
                                     {"dataset": BUREAU, "epsilon_threshold": 5, "delta": 1e-5}]}],
        "ccr": {"allow_simulated": True, "simulated_roots": [simulator.root.sha256]},
    }  # fmt: skip
    if base_model is not None:
        digest, size = artefact_digest(base_model)
        model = {"digest": digest, "name": base_model.name, "kind": "model", "size": size}
        world.send("consumer", "artefact.register", {**model, "format": base_model.suffix.lstrip(".")})
        doc["base_model"] = digest
    world.cid = contract_id(doc)
    world.send("consumer", "contract.propose", {"contract": doc})
    for name in world.parties if sign_all else ["consumer", "bank"]:
        world.send(name, "contract.sign", {"contract_id": world.cid})
    for dataset, table in tables().items():
        provider = "bank" if dataset == BANK else "bureau"
        path = root / provider / ("bank.csv" if dataset == BANK else "bureau.parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False) if path.suffix == ".csv" else table.to_parquet(path, index=False)
        key = pyrage.x25519.Identity.generate()
        world.dataset_keys[dataset] = str(key)
        sealed = pyrage.encrypt(path.read_bytes(), [key.to_public()])
        encrypted = path.with_name(path.name + ".age")
        encrypted.write_bytes(sealed)
        digest, size = artefact_digest(path)
        path.unlink()  # only the provider had the plaintext
        world.send(provider, "artefact.register", {"digest": digest, "name": path.name, "kind": "dataset",
                                                   "size": size, "encrypted_digest": sha256_digest(sealed),
                                                   "contract_id": world.cid})  # fmt: skip
        world.inputs.append(Input(dataset=dataset, digest=digest, file=encrypted, broker=""))
    return world


@contextmanager
def running(world: World) -> Iterator[World]:
    """The ledger and both brokers served; the run spec's inputs point at the brokers."""
    with serving(create_app(world.ledger)) as url:
        world.url = url
        brokers = {}
        with serving(
            broker_app(Broker(world.client("bank"), world.parties["bank"], {BANK: world.dataset_keys[BANK]}))
        ) as bank:
            with serving(broker_app(Broker(world.client("bureau"), world.parties["bureau"],
                                           {BUREAU: world.dataset_keys[BUREAU]}))) as bureau:  # fmt: skip
                brokers = {BANK: bank, BUREAU: bureau}
                world.inputs = [i.model_copy(update={"broker": brokers[i.dataset]}) for i in world.inputs]
                yield world
