"""Contract terms that cannot be skipped: a hardware clean room runs only under a contract that pins its
image, and a term the verifier cannot check fails rather than passing silently."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.amd import hwid_matches
from attestation.evidence import verify_attestation
from attestation.policy import AttestationPolicy
from attestation.snp import verify_snp
from attestation.tdx import verify_tdx
from attestation.tdx_quote import parse_quote
from ccr_agent.attest import AgentKeys
from ccr_agent.simulated import PRODUCT, SimulatedTee
from schemas.contract import CcrPolicy
from schemas.encoding import b64
from schemas.statement import AttestationReport, Binding, Evidence
from tests.attestation.samples import SAMPLE_TIME, snp_sample, tdx_quote

CID = "sha256:" + "c" * 64


def genuine_snp_report() -> AttestationReport:
    """A genuine Milan report; its REPORT_DATA binds nothing of ours, so report-data fails in every case."""
    sample = snp_sample("go-sev-guest_milan")
    keys = AgentKeys.generate()
    pem = "".join(c.public_bytes(Encoding.PEM).decode() for c in sample.certs)
    return AttestationReport(
        run_id="run-1",
        contract_id=CID,
        evidence=Evidence(type="sev-snp", report=b64(sample.report), certs=[pem]),
        binding=Binding(
            receipt_key=keys.signer.did, x25519=keys.recipient, contract_id=CID, run_id="run-1", nonce="n"
        ),  # fmt: skip
    )


def failed_checks(body: AttestationReport, ccr: CcrPolicy) -> set[str]:
    return {c.name for c in verify_attestation(body, ccr, at=SAMPLE_TIME).failures}


def test_hardware_evidence_under_a_contract_that_pins_no_measurement_fails() -> None:
    assert "measurement-pinned" in failed_checks(genuine_snp_report(), CcrPolicy())


def test_hardware_evidence_under_a_contract_that_pins_its_measurement_passes_that_check() -> None:
    body = genuine_snp_report()
    measurement = verify_attestation(body, CcrPolicy(), at=SAMPLE_TIME).claims.measurement
    failed = failed_checks(body, CcrPolicy(measurements=[measurement]))
    assert "measurement-pinned" not in failed and "measurement" not in failed


def test_a_minimum_tcb_the_evidence_cannot_be_compared_with_fails() -> None:
    """TDX carries no TCB comparable to min_tcb without Intel's collateral: the demand fails, it is not skipped."""
    result = verify_tdx(tdx_quote(5), policy=AttestationPolicy(min_tcb={"tee": 1}))
    assert "min-tcb" in {c.name for c in result.failures}


# --- SEV-SNP: what the host chooses at launch and MEASUREMENT does not cover ------------------------------


MIGRATE_MA = 1 << 18


def test_a_guest_launched_with_a_migration_agent_is_refused(simulator: SimulatedTee) -> None:
    """A report signed by a VCEK (a test root stands in for AMD's) with MIGRATE_MA set: it verified before."""
    report = simulator.report(bytes(64), policy_bits=MIGRATE_MA)
    result = verify_snp(report, simulator.chain, roots=(simulator.root,))
    assert {c.name for c in result.failures} == {"guest-policy"}
    allowed = verify_snp(report, simulator.chain, roots=(simulator.root,),
                         policy=AttestationPolicy(allow_migration_agent=True))  # fmt: skip
    assert allowed.verified


SINGLE_SOCKET, ABI_1_51 = 1 << 20, (1 << 8) | 51


@pytest.mark.parametrize(
    ("launched", "terms", "says"),
    [
        ({}, {"allow_smt": False}, "SMT is allowed, and the contract forbids it"),
        ({}, {"single_socket": True}, "SINGLE_SOCKET is clear"),
        ({"policy_bits": ABI_1_51}, {"min_abi": "1.52"}, "the minimum ABI 1.51 is below the contract's 1.52"),
        ({"policy_bits": ABI_1_51}, {"min_abi": "2.0"}, "below the contract's 2.0"),
    ],
)
def test_guest_policy_terms_the_host_did_not_meet_are_refused(simulator: SimulatedTee, launched, terms, says) -> None:
    """go-sev-guest's validatePolicy: what the host chose at launch, and MEASUREMENT does not cover."""
    result = verify_snp(simulator.report(bytes(64), **launched), simulator.chain, roots=(simulator.root,),
                        policy=AttestationPolicy(**terms))  # fmt: skip
    assert {c.name for c in result.failures} == {"guest-policy"} and says in result.failures[0].reason


@pytest.mark.parametrize(
    ("launched", "terms"),
    [
        ({"smt": False}, {"allow_smt": False}),
        ({"policy_bits": SINGLE_SOCKET}, {"single_socket": True}),
        ({"policy_bits": ABI_1_51}, {"min_abi": "1.51"}),
        ({"policy_bits": ABI_1_51}, {"min_abi": "0.99"}),
    ],
)
def test_guest_policy_terms_the_host_met_pass(simulator: SimulatedTee, launched, terms) -> None:
    result = verify_snp(simulator.report(bytes(64), **launched), simulator.chain, roots=(simulator.root,),
                        policy=AttestationPolicy(**terms))  # fmt: skip
    assert result.verified, result.failures


def test_a_contracts_guest_policy_terms_reach_the_verifier() -> None:
    policy = AttestationPolicy.from_contract(CcrPolicy(allow_smt=False, single_socket=True, min_abi="1.55"))
    assert (policy.allow_smt, policy.single_socket, policy.min_abi) == (False, True, "1.55")


@pytest.mark.parametrize("version", [1, 6, 0xFFFFFFFF])
def test_a_report_version_this_verifier_does_not_know_is_refused(simulator: SimulatedTee, version: int) -> None:
    result = verify_snp(simulator.report(bytes(64), version=version), simulator.chain, roots=(simulator.root,))
    assert {c.name for c in result.failures} == {"report-format"}


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"current_tcb": {"snp": 1}}, "REPORTED snp"),  # the VCEK vouches for a TCB newer than the one running
        ({"committed_tcb": {"microcode": 255}}, "COMMITTED microcode 255"),  # committed past what runs
    ],
)
def test_tcb_levels_that_contradict_each_other_are_refused(simulator: SimulatedTee, change: dict, says: str) -> None:
    result = verify_snp(simulator.report(bytes(64), **change), simulator.chain, roots=(simulator.root,))
    assert {c.name for c in result.failures} == {"tcb-consistency"} and says in result.failures[0].reason


def test_a_report_whose_tcb_levels_agree_passes_the_consistency_check(simulator: SimulatedTee) -> None:
    checks = {
        c.name: c for c in verify_snp(simulator.report(bytes(64)), simulator.chain, roots=(simulator.root,)).checks
    }
    assert checks["tcb-consistency"].status == "pass"


def test_a_vcek_signed_by_an_asvk_is_refused() -> None:
    """An ASVK signs only VLEKs: a VCEK under one is a chain AMD never issues (a test root stands in for AMD's)."""
    rogue = SimulatedTee.generate(intermediate=f"SEV-VLEK-{PRODUCT}")
    result = verify_snp(rogue.report(bytes(64)), rogue.chain, roots=(rogue.root,))
    assert {c.name for c in result.failures} == {"intermediate-role"}


@pytest.mark.parametrize(
    ("hwid", "chip_id", "matches"),
    [
        (bytes(range(64)), bytes(range(64)), True),  # Milan, Genoa: all 64 bytes
        (bytes(range(64)), bytes(range(63)) + b"\xff", False),
        (bytes(range(8)), bytes(range(8)) + bytes(56), True),  # Turin: 8 bytes, the rest of CHIP_ID zero
        (bytes(range(8)), bytes(range(8)) + b"\x01" + bytes(55), False),
        (bytes(range(8)), bytes(range(1, 9)) + bytes(56), False),
        (b"", bytes(64), False),
    ],
)
def test_a_vceks_hwid_names_the_chip_on_every_generation(hwid: bytes, chip_id: bytes, matches: bool) -> None:
    assert hwid_matches(hwid, chip_id) is matches


# --- TDX: the boot after the firmware, measured into the RTMRs ----------------------------------------------


def rtmr_check(quote: bytes, **pins: list[str]):
    result = verify_tdx(quote, policy=AttestationPolicy(rtmrs=pins))
    return next(c for c in result.checks if c.name == "rtmr")


def test_rtmrs_the_contract_pins_must_match_the_quote() -> None:
    quote = tdx_quote(4)
    rtmrs = [r.hex() for r in parse_quote(quote).report.rtmrs]
    assert rtmr_check(quote, **{"1": [rtmrs[1]], "2": ["ab" * 48, rtmrs[2].upper()]}).status == "pass"
    wrong = rtmr_check(quote, **{"1": ["00" * 48], "2": [rtmrs[2]]})
    assert wrong.status == "fail" and "RTMR1" in wrong.reason and "RTMR2" not in wrong.reason


def test_rtmrs_no_contract_pins_are_reported_unconstrained() -> None:
    assert rtmr_check(tdx_quote(5)).status == "not-checked"


def test_a_contracts_rtmr_pins_reach_the_verifier() -> None:
    pin = "AB" * 48
    assert AttestationPolicy.from_contract(CcrPolicy(rtmrs={"2": [pin]})).rtmrs == {"2": [pin.lower()]}
