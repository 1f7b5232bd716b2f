"""An attestation.report is bound to its run: REPORT_DATA is SHA-512 of the binding document's JCS bytes."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

from attestation.binding import report_data_for
from attestation.evidence import verify_attestation
from ccr_agent.attest import AgentKeys, Producer, attest
from ccr_agent.simulated import SimulatedTee
from schemas.canonical import canonical
from schemas.contract import CcrPolicy
from schemas.encoding import b64
from schemas.statement import AttestationReport

CONTRACT = "sha256:" + "ab" * 32
NO_TEE = {"tsm_root": Path("/nonexistent/tsm"), "sev_device": Path("/nonexistent/sev-guest")}


def admitting(simulator: SimulatedTee, **terms: object) -> CcrPolicy:
    """Contract terms that admit this simulator (allow_simulated, and its root pinned)."""
    return CcrPolicy(allow_simulated=True, simulated_roots=[simulator.root.sha256], **terms)


def simulated_report(simulator: SimulatedTee, run_id: str = "run-1") -> AttestationReport:
    producer = Producer(**NO_TEE, simulator=simulator)
    return attest(AgentKeys.generate(), CONTRACT, run_id, "root-hash", producer, allow_simulated=True)


def test_report_data_is_sha512_of_the_canonical_binding(simulator: SimulatedTee) -> None:
    body = simulated_report(simulator)
    expected = hashlib.sha512(canonical(body.binding.model_dump(mode="json"))).digest()
    assert report_data_for(body.binding) == expected


def test_a_bound_simulated_report_verifies_where_the_contract_allows_simulation(simulator: SimulatedTee) -> None:
    result = verify_attestation(simulated_report(simulator), admitting(simulator))
    assert result.verified
    assert result.security == "insecure-simulated"


def test_a_contract_that_does_not_allow_simulation_refuses_it(simulator: SimulatedTee) -> None:
    terms = CcrPolicy(simulated_roots=[simulator.root.sha256])
    result = verify_attestation(simulated_report(simulator), terms)
    assert not result.verified
    assert "simulated-allowed" in {c.name for c in result.failures}


def test_a_binding_swapped_for_another_fails_report_data(simulator: SimulatedTee) -> None:
    body = simulated_report(simulator)
    other = simulated_report(simulator).binding
    forged = body.model_copy(update={"binding": other})
    result = verify_attestation(forged, admitting(simulator))
    assert [c.name for c in result.failures] == ["report-data"]


def test_a_binding_naming_another_run_fails(simulator: SimulatedTee) -> None:
    body = simulated_report(simulator, run_id="run-1").model_copy(update={"run_id": "run-2"})
    result = verify_attestation(body, admitting(simulator))
    assert [c.name for c in result.failures] == ["binding-matches"]


def test_the_contract_measurement_allowlist_applies(simulator: SimulatedTee) -> None:
    result = verify_attestation(simulated_report(simulator), admitting(simulator, measurements=["ff" * 48]))
    assert [c.name for c in result.failures] == ["measurement"]


def test_a_simulator_the_contract_does_not_pin_is_refused(simulator: SimulatedTee) -> None:
    result = verify_attestation(simulated_report(simulator), CcrPolicy(allow_simulated=True))
    assert [c.name for c in result.failures] == ["simulated-root"]


def azure_hcl(simulator: SimulatedTee, user_data: bytes) -> bytes:
    """An Azure HCL report as the paravisor lays it out, around a report the simulated VCEK signs: REPORT_DATA
    is SHA-256 of the runtime claims, whose user-data carries the guest's 64 bytes."""
    runtime = json.dumps({"keys": [], "vm-configuration": {}, "user-data": user_data.hex()}).encode()
    snp = simulator.report(hashlib.sha256(runtime).digest() + bytes(32))
    return b"HCLA" + bytes(0x1C) + snp + struct.pack("<5I", 20 + len(runtime), 1, 2, 1, len(runtime)) + runtime


def test_an_azure_confidential_vm_binds_its_run_in_the_runtime_claims(simulator: SimulatedTee) -> None:
    body = simulated_report(simulator)
    hcl = azure_hcl(simulator, report_data_for(body.binding))
    azure = body.model_copy(update={"evidence": body.evidence.model_copy(update={"report": b64(hcl)})})
    assert verify_attestation(azure, admitting(simulator)).verified
    another_run = azure_hcl(simulator, bytes(64))
    unbound = body.model_copy(update={"evidence": body.evidence.model_copy(update={"report": b64(another_run)})})
    assert {c.name for c in verify_attestation(unbound, admitting(simulator)).failures} == {"report-data"}
