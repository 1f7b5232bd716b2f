"""The clean room's first step (docs/design.md, flows): fresh keys, the binding document, evidence over its hash."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyrage

from attestation.binding import report_data_for
from ccr_agent.sevguest import SEV_GUEST, sev_guest_report
from ccr_agent.simulated import SimulatedTee
from ccr_agent.tsm import TSM_REPORTS, TeeUnavailable, tsm_report
from schemas.encoding import b64
from schemas.keys import Signer
from schemas.statement import AttestationReport, Binding, Evidence


@dataclass(frozen=True)
class AgentKeys:
    """Made inside the TEE and never leave it: receipts are signed with one, dataset keys are sealed to the other."""

    signer: Signer
    identity: pyrage.x25519.Identity

    @classmethod
    def generate(cls) -> AgentKeys:
        return cls(signer=Signer.generate(), identity=pyrage.x25519.Identity.generate())

    @property
    def recipient(self) -> str:
        return str(self.identity.to_public())


CCEL = Path("/sys/firmware/acpi/tables/data/CCEL")


@dataclass(frozen=True)
class Producer:
    """Where evidence comes from: configfs-tsm, then /dev/sev-guest, then (only if allowed) the simulator."""

    tsm_root: Path = TSM_REPORTS
    sev_device: Path = SEV_GUEST
    simulator: SimulatedTee | None = None
    # The TD's CC event log, as the firmware's ACPI CCEL table exposes it: sent with a TDX quote so that verifiers
    # can replay it to the RTMRs and see what booted.
    ccel: Path = CCEL


def binding_for(keys: AgentKeys, contract_id: str, run_id: str, nonce: str) -> Binding:
    """The nonce is the ledger's current checkpoint root, so the evidence cannot predate it."""
    return Binding(
        receipt_key=keys.signer.did, x25519=keys.recipient, contract_id=contract_id, run_id=run_id, nonce=nonce
    )


def produce_evidence(report_data: bytes, producer: Producer, *, allow_simulated: bool) -> Evidence:
    tried = []
    if producer.tsm_root.is_dir():
        hardware = tsm_report(report_data, root=producer.tsm_root)
        log = b64(producer.ccel.read_bytes()) if hardware.type == "tdx" and producer.ccel.is_file() else None
        return Evidence(type=hardware.type, report=b64(hardware.report), certs=hardware.certs or None, event_log=log)
    tried.append(f"no {producer.tsm_root}")
    if producer.sev_device.exists():
        return Evidence(type="sev-snp", report=b64(sev_guest_report(report_data, device=producer.sev_device)))
    tried.append(f"no {producer.sev_device}")
    if not allow_simulated:
        raise TeeUnavailable(f"no TEE found ({', '.join(tried)}) and a simulated one is not allowed")
    if producer.simulator is None:
        raise TeeUnavailable(f"no TEE found ({', '.join(tried)}) and no simulator folder was given")
    return Evidence(
        type="simulated", report=b64(producer.simulator.report(report_data)), certs=producer.simulator.chain_pem
    )


def attest(
    keys: AgentKeys, contract_id: str, run_id: str, nonce: str, producer: Producer, *, allow_simulated: bool
) -> AttestationReport:
    """The body of the run's `attestation.report` statement, to be signed with keys.signer."""
    binding = binding_for(keys, contract_id, run_id, nonce)
    evidence = produce_evidence(report_data_for(binding), producer, allow_simulated=allow_simulated)
    return AttestationReport(run_id=run_id, contract_id=contract_id, evidence=evidence, binding=binding)
