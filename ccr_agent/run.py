"""The clean-room run of docs/design.md, flows: attest, reserve, get keys, decrypt and check, train, commit, hand over.

Every statement is signed by the run's fresh key and every receipt verified (LedgerClient.append). Plaintext
lives only in the run's private working folder, which is wiped whatever happens.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
from pydantic import BaseModel, ConfigDict, Field

from ccr_agent.attest import AgentKeys, Producer, attest
from ccr_agent.sealed import open_sealed
from chain.client import LedgerClient
from chain.client.verified import active_contract, dids_of
from chain.tlog import transcript
from chain.tlog.freshness import nonce_for
from chain.tlog.receipt import Receipt
from keybroker.client import request_key
from privacy import budget
from schemas import statement as s
from schemas.api import PartyView
from schemas.canonical import sha256_digest
from schemas.contract import Contract
from schemas.digest import artefact_digest
from schemas.errors import DepaError, RunFailed, Unprocessable
from trainers import pipeline as pipelines
from trainers.config import Pipeline, load_pipeline
from trainers.dp_sgd import DpPlan, steps_for


def failure_code(exc: BaseException) -> str:
    """What the log says of a failure: the problem type's slug, nothing data-dependent."""
    return exc.slug if isinstance(exc, DepaError) else "internal-error"


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str  # the contract's dataset id
    digest: str  # the plaintext digest the provider registered
    file: Path  # the age-encrypted file (a tar for a folder of files)
    broker: str  # the provider's key broker


class RunSpec(BaseModel):
    """What the TDC asks the clean room to run (`depa-ccr run SPEC.json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ledger: str
    vkey: str
    contract_id: str
    pipeline: Path
    inputs: list[Input] = Field(min_length=1)
    output_dir: Path
    run_id: str = Field(default_factory=lambda: f"run-{uuid.uuid4().hex[:12]}")
    simulator: Path | None = None
    base_model: Path | None = None  # the consumer's model (a file or folder) the contract names by digest


@dataclass
class RunReport:
    run_id: str
    outputs: dict[str, Path]  # digest -> encrypted file
    metrics: dict[str, float]
    receipts: int


Step = Callable[[str], None]


def run(spec: RunSpec, producer: Producer, *, step: Step = lambda _: None) -> RunReport:
    client = LedgerClient(spec.ledger, spec.vkey)
    pipeline = load_pipeline(spec.pipeline)
    pipelines.check_terms(pipeline, spec.base_model)
    keys = AgentKeys.generate()
    step("attesting")
    # The attestation comes first: its key is the run's only identity, and a ledger that serves its parties
    # only shows the contract to it once the attestation is logged. Simulated evidence goes out only where a
    # simulator was given, and the ledger admits it only where the contract opts in.
    body = attest(keys, spec.contract_id, spec.run_id, nonce_for(client.checkpoint()), producer, allow_simulated=True)
    agent = Agent(client, keys, spec)
    agent.post("attestation.report", body.model_dump(mode="json", exclude_none=True), with_run=False)
    client.read_as(keys.signer)
    work = Path(tempfile.mkdtemp(prefix=f"depa-{spec.run_id}-"))
    try:
        contract = active_contract(client, spec.contract_id, client.checkpoint())  # one not in force stops here
        plan = privacy_plan(contract, pipeline, [i.dataset for i in spec.inputs])
        return agent.carry_out(contract, pipeline, plan, work, step)
    except Exception as exc:  # record every failure on the ledger, then report it
        raise RunFailed(f"run {spec.run_id} failed: {exc}{agent.fail(exc)}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def privacy_plan(contract: Contract, pipeline: Pipeline, datasets: list[str]) -> DpPlan | None:
    """Refuse a pipeline whose privacy settings exceed the contract; else the DP-SGD plan it asks for."""
    caps = {d: cap for d in datasets if (cap := contract.privacy_cap(d)) is not None}
    unknown = set(datasets) - {d.id for d in contract.datasets}
    if unknown:
        raise Unprocessable(f"the contract names no datasets {sorted(unknown)}")
    train = pipeline.train
    if not caps:
        return None
    if not train.is_private or pipeline.trainer != "Train_DL" or train.privacy_params is None:
        raise Unprocessable("the contract caps privacy on these datasets: the pipeline must be Train_DL, is_private")
    params = train.privacy_params
    delta = min(cap.delta for cap in caps.values())
    epsilon = min(cap.epsilon_threshold for cap in caps.values())
    if params.delta is not None and params.delta > delta:
        raise Unprocessable(f"pipeline delta {params.delta} exceeds the contract's {delta}")
    if params.epsilon is not None and params.epsilon > epsilon:
        raise Unprocessable(f"pipeline epsilon {params.epsilon} exceeds the contract's cap {epsilon}")
    if params.sample_rate is None:
        raise Unprocessable("privacy_params.sample_rate is needed: budget is reserved before any key is released")
    steps = steps_for(train, params.sample_rate)
    # The run's own epsilon; what it costs each dataset is the ledger's filter to say, at reservation.
    sigma = params.noise_multiplier or budget.noise_for(params.epsilon or epsilon, delta, params.sample_rate, steps)
    floor = max((cap.noise_multiplier or 0.0) for cap in caps.values())
    if sigma < floor:
        raise Unprocessable(f"noise multiplier {sigma:.3f} is below the contract's minimum {floor}")
    return DpPlan(noise_multiplier=sigma, sample_rate=params.sample_rate, steps=steps,
                  max_grad_norm=params.max_grad_norm)  # fmt: skip


def base_model_digest(contract: Contract, path: Path | None) -> str | None:
    """The digest of the base model the run was given, which must be the one the contract names (or none)."""
    if path is None:
        if contract.base_model is not None:
            raise Unprocessable(f"the contract names base model {contract.base_model}; the run spec gives none",
                                remedy="give the consumer's model as base_model in the run spec")  # fmt: skip
        return None
    if not path.exists():
        raise Unprocessable(f"the base model {path} does not exist")
    digest, _ = artefact_digest(path)
    if contract.base_model is None:
        raise Unprocessable(f"the run spec gives base model {path.name}; the contract names none")
    if digest != contract.base_model:
        raise Unprocessable(f"the base model {path.name} has digest {digest}, not the {contract.base_model} the "
                            "contract names: the clean room trains only the model the parties signed for")  # fmt: skip
    return digest


@dataclass
class Agent:
    client: LedgerClient
    keys: AgentKeys
    spec: RunSpec
    receipts: int = 0
    reserved: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    completed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    contract: Contract | None = None
    parties: list[PartyView] = field(default_factory=list)

    def post(self, kind: str, body: dict[str, Any], *, with_run: bool = True) -> Receipt:
        full = {"run_id": self.spec.run_id, **body} if with_run else body
        receipt = self.client.append(s.sign(self.keys.signer, kind, full))  # verified against the pinned vkey
        with self.lock:
            self.receipts += 1
        return receipt

    def each(self, work: Callable[[Any], Any], items: list) -> list:
        """One call per item, concurrently: providers' brokers and the ledger's group commit serve them together.
        Every call finishes before the first failure is raised, so the failure path knows what was done."""
        with ThreadPoolExecutor(max_workers=max(1, len(items))) as pool:
            futures = [pool.submit(work, item) for item in items]
        return [f.result() for f in futures]

    def carry_out(self, contract: Contract, pipeline: Pipeline, plan: DpPlan | None, work: Path, step: Step):
        spec, cid = self.spec, self.spec.contract_id
        self.contract, self.parties = contract, self.client.parties()
        base = base_model_digest(contract, spec.base_model)  # before any budget is reserved or key asked for
        deltas = {i.dataset: cap.delta for i in spec.inputs if (cap := contract.privacy_cap(i.dataset)) is not None}
        capped = list(deltas)
        if plan is not None:
            step("reserving budget")
            segment = {"noise_multiplier": plan.noise_multiplier, "sample_rate": plan.sample_rate, "steps": plan.steps}

            def reserve(dataset: str) -> None:
                self.post("budget.reserve", {"contract_id": cid, "dataset": dataset, "delta": deltas[dataset],
                                             "segments": [segment]})  # fmt: skip
                self.reserved.append(dataset)

            # Every reservation stands before any key is asked for: a refusal then costs no dataset any budget.
            self.each(reserve, capped)
        step("inputs checked against their registrations")
        sealed = self.each(self.sealed_input, spec.inputs)
        step("keys from the providers' brokers; inputs decrypted and checked")
        opened = self.each(lambda found: self.open_input(found, work), sealed)
        plain = {item.dataset: path for item, path in zip(spec.inputs, opened, strict=True)}
        attestation = self.client.run(spec.run_id).attestation
        pipeline_digest, _ = artefact_digest(spec.pipeline)
        inputs = [i.digest for i in spec.inputs]
        start = {"contract_id": cid, "attestation": attestation, "inputs": inputs, "pipeline_digest": pipeline_digest}
        self.post("run.start", {**start, **({"base_model": base} if base else {})})
        step("training")
        arrays = pipelines.load(pipeline, plain)
        pipelines.check_poisson(pipeline, arrays)
        result = pipelines.run(pipeline, arrays, work / "out", plan, spec.base_model)
        if plan is not None:
            step("committing budget")
            for dataset in capped:
                self.post("budget.commit", {"contract_id": cid, "dataset": dataset, "delta": deltas[dataset],
                                            "segments": result.segments})  # fmt: skip
            self.reserved.clear()
        step("handing over outputs")
        outputs = self.hand_over(contract, result.outputs, [*inputs, *([base] if base else [])])
        metrics = {k: float(v) for k, v in result.metrics.items()}  # for the recipients, in metrics.json; not logged
        complete: dict[str, Any] = {"status": "succeeded", "outputs": list(outputs)}
        if result.transcript is not None:  # the root of the lines that left, encrypted, with the other outputs
            committed = transcript.commit(result.transcript.read_bytes())
            complete["transcript"] = {"root": committed.root, "epochs": committed.epochs}
        self.post("run.complete", complete)
        self.completed = True
        return RunReport(spec.run_id, outputs, metrics, self.receipts)

    def sealed_input(self, item: Input) -> tuple[Input, s.ArtefactRegister, bytes]:
        """The encrypted file, checked against the provider's registration before any key is asked for."""
        registered = self.client.artefact(item.digest)
        _, entry = self.client.proven(registered.seq)
        if not isinstance(entry.body, s.ArtefactRegister) or entry.body.digest != item.digest:
            raise Unprocessable(f"entry {registered.seq} is not the registration of {item.digest}")
        assert self.contract is not None, "carry_out sets the contract first"
        named = next(d for d in self.contract.datasets if d.id == item.dataset)
        if named.source is not None and named.source != item.digest:
            raise Unprocessable(f"the contract's {item.dataset} holds {named.source}, not {item.digest}")
        provider = named.provider
        if entry.iss not in dids_of(self.parties, provider):
            raise Unprocessable(f"{item.digest} was not registered by the provider of {item.dataset}")
        sealed = item.file.read_bytes()
        if entry.body.encrypted_digest and sha256_digest(sealed) != entry.body.encrypted_digest:
            raise Unprocessable(f"{item.file.name} is not the encrypted file registered for {item.dataset}")
        return item, entry.body, sealed

    def open_input(self, found: tuple[Input, s.ArtefactRegister, bytes], work: Path) -> Path:
        """Key from the provider's broker, decryption, and the digest the provider registered."""
        item, registration, sealed = found
        identity = request_key(item.broker, self.spec.run_id, item.dataset, self.keys.signer, str(self.keys.identity))
        self.released.append(item.dataset)
        data, digest = open_sealed(sealed, identity)
        target = work / "in" / item.dataset
        target.parent.mkdir(parents=True, exist_ok=True)
        if bytes(data[257:262]) == b"ustar":  # a folder, sent as a tar: its digest is its manifest's
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                tar.extractall(target, filter="data")
            digest, _ = artefact_digest(target)
        else:
            target = target.with_suffix(Path(registration.name).suffix)
            target.write_bytes(data)
        if digest != item.digest:
            raise Unprocessable(f"the decrypted {item.dataset} has digest {digest}, not the registered {item.digest}")
        return target

    def hand_over(self, contract: Contract, files: list[Path], inputs: list[str]) -> dict[str, Path]:
        """Each output encrypted to the contract's recipients (the TDC by default), then registered with lineage."""
        recipients = [self._x25519(ref) for ref in (contract.recipients or [contract.tdc])]
        age = [pyrage.x25519.Recipient.from_str(r) for r in recipients]
        self.spec.output_dir.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, Path] = {}
        for path in files:
            digest, size = artefact_digest(path)
            sealed = pyrage.encrypt(path.read_bytes(), age)
            target = self.spec.output_dir / f"{path.name}.age"
            target.write_bytes(sealed)
            kind = "log" if path.suffix in (".json", ".jsonl") else "model"
            self.post("artefact.register", {
                "digest": digest, "name": path.name, "kind": kind, "format": path.suffix.lstrip("."), "size": size,
                "encrypted_digest": sha256_digest(sealed), "derived_from": inputs, "produced_by": self.spec.run_id,
                "contract_id": self.spec.contract_id,
            }, with_run=False)  # fmt: skip
            outputs[digest] = target
        return outputs

    def _x25519(self, ref: str) -> str:
        for party in self.parties:
            if ref in {party.did, *party.former_dids, *party.aliases}:
                return party.x25519
        raise Unprocessable(f"output recipient {ref} is not a registered party")

    def fail(self, exc: BaseException) -> str:
        """Abort what released nothing, then record the failure; say so if the ledger refused either."""
        if self.completed:
            return ""
        try:
            for dataset in self.reserved:
                if dataset not in self.released:
                    self.post("budget.abort", {"contract_id": self.spec.contract_id, "dataset": dataset})
            self.post("run.complete", {"status": "failed", "outputs": [], "reason": failure_code(exc)})
        except DepaError as refused:
            return f" (and recording the failure failed: {refused})"
        return ""
