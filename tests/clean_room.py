"""A collaboration ready for clean-room statements: an active contract admitting the test simulator,
each provider's dataset registered under it, and attested runs on demand."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccr_agent.attest import AgentKeys, Producer, attest
from ccr_agent.simulated import SimulatedTee
from tests.conftest import Collab, fresh_nonce

NO_TEE = {"tsm_root": Path("/nonexistent/tsm"), "sev_device": Path("/nonexistent/sev-guest")}


@dataclass
class Room:
    collab: Collab
    simulator: SimulatedTee
    cid: str
    dataset: str  # the provider's dataset id in the contract (ds-0)
    digest: str  # its registered artefact digest
    agents: dict[str, AgentKeys] = field(default_factory=dict)

    def attest(self, run_id: str) -> AgentKeys:
        keys = AgentKeys.generate()
        producer = Producer(**NO_TEE, simulator=self.simulator)
        body = attest(keys, self.cid, run_id, fresh_nonce(self.collab.ledger), producer, allow_simulated=True)
        self.collab.send(keys.signer, "attestation.report", body.model_dump(mode="json", exclude_none=True))
        self.agents[run_id] = keys
        return keys

    def agent(self, run_id: str, kind: str, body: dict[str, Any]) -> Any:
        return self.collab.send(self.agents[run_id].signer, kind, {"run_id": run_id, **body})

    def reserve(self, run_id: str, sigma: float = 1.0, q: float = 0.01, steps: int = 1000, kind: str = "reserve"):
        segment = {"noise_multiplier": sigma, "sample_rate": q, "steps": steps}
        body = {"contract_id": self.cid, "dataset": self.dataset, "delta": 1e-5, "segments": [segment]}
        return self.agent(run_id, f"budget.{kind}", body)

    def release(self, run_id: str) -> Any:
        keys = self.agents[run_id]
        body = {"run_id": run_id, "contract_id": self.cid, "dataset": self.dataset, "recipient": keys.recipient}
        return self.collab.send(self.collab.tdp.key, "key.release", body)

    def start(self, run_id: str, pipeline: str = "1", **extra: Any) -> Any:
        attestation = self.collab.ledger.registry.runs[run_id].attestation
        body = {
            "contract_id": self.cid,
            "attestation": attestation,
            "inputs": [self.digest],
            "pipeline_digest": "sha256:" + pipeline * 64,
            **extra,
        }
        return self.agent(run_id, "run.start", body)

    def output(self, run_id: str, name: str = "model.safetensors", derived_from: list[str] | None = None) -> str:
        digest = "sha256:" + hashlib.sha256(f"{run_id}/{name}".encode()).hexdigest()
        body = {
            "digest": digest,
            "name": name,
            "kind": "model",
            "derived_from": derived_from or [self.digest],
            "produced_by": run_id,
            "contract_id": self.cid,
        }
        self.collab.send(self.agents[run_id].signer, "artefact.register", body)
        return digest


def room(collab: Collab, simulator: SimulatedTee, source: str | None = None, **contract: Any) -> Room:
    """A signed contract over the provider's dataset: registered under it, or the `source` it names."""
    if source is not None:
        contract.setdefault("datasets", [sourced(collab, source)])
    cid = collab.propose(ccr={"allow_simulated": True, "simulated_roots": [simulator.root.sha256]}, **contract)
    collab.sign_all(cid)
    if source is not None:
        return Room(collab, simulator, cid, "ds-0", source)
    digest = "sha256:" + hashlib.sha256(cid.encode()).hexdigest()
    collab.send(
        collab.tdp.key,
        "artefact.register",
        {"digest": digest, "name": "bank.csv", "kind": "dataset", "contract_id": cid},
    )
    return Room(collab, simulator, cid, "ds-0", digest)


def sourced(collab: Collab, source: str, label: str = "ds-0") -> dict[str, Any]:
    """A contract's dataset holding the records of the provider's registered dataset `source`."""
    return {"id": label, "name": "bank", "provider": collab.tdp.did, "source": source}


def provider_dataset(collab: Collab, name: str = "bank.csv", records: int | None = None) -> str:
    """The provider's dataset, registered under no contract: a source that contracts name."""
    digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    body = {"digest": digest, "name": name, "kind": "dataset", **({"records": records} if records else {})}
    collab.send(collab.tdp.key, "artefact.register", body)
    return digest


def room_on_a_copy(collab: Collab, simulator: SimulatedTee, source: str) -> Room:
    """A contract of its own (a fresh cap on "ds-0") over a copy of `source`, registered under it as derived."""
    r = room(collab, simulator)
    r.digest = "sha256:" + hashlib.sha256(b"a copy of " + source.encode()).hexdigest()
    body = {"digest": r.digest, "name": "copy.csv", "kind": "dataset", "contract_id": r.cid, "derived_from": [source]}
    collab.send(collab.tdp.key, "artefact.register", body)
    return r
