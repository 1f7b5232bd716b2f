"""The ledger takes an attestation.report only if its evidence verifies under the contract's clean-room terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ccr_agent.attest import AgentKeys, Producer, attest
from ccr_agent.simulated import SimulatedTee
from chain.ledger.ledger import Ledger
from chain.ledger.store import MemoryStore
from chain.tlog import merkle
from schemas import statement as s
from schemas.encoding import b64, unb64
from schemas.errors import AttestationRejected, Conflict, NotAllowed
from schemas.keys import Signer
from tests.attestation.tdx_forge import StandInPki, collateral, sample_mrtd, tdx_evidence, trust
from tests.conftest import ORIGIN, Collab, collab_on, fresh_nonce, register

NO_TEE = Producer(tsm_root=Path("/nonexistent/tsm"), sev_device=Path("/nonexistent/sev-guest"))


def admitting(simulator: SimulatedTee, **ccr: object) -> dict:
    return {"ccr": {"allow_simulated": True, "simulated_roots": [simulator.root.sha256], **ccr}}


def active_contract(collab: Collab, **terms: object) -> str:
    cid = collab.propose(**terms)
    collab.sign_all(cid)
    return cid


def report(collab: Collab, simulator: SimulatedTee, cid: str, run_id: str = "run-1", keys: AgentKeys | None = None):
    keys = keys or AgentKeys.generate()
    producer = Producer(tsm_root=NO_TEE.tsm_root, sev_device=NO_TEE.sev_device, simulator=simulator)
    return keys, attest(keys, cid, run_id, fresh_nonce(collab.ledger), producer, allow_simulated=True)


def send(collab: Collab, signer: Signer, body: s.AttestationReport):
    return collab.send(signer, "attestation.report", body.model_dump(mode="json", exclude_none=True))


def test_a_verified_simulated_attestation_is_admitted_and_starts_a_run(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, **admitting(simulator))
    keys, body = report(collab, simulator, cid)
    receipt, _ = send(collab, keys.signer, body)
    run = collab.ledger.registry.runs["run-1"]
    assert (run.contract_id, run.agent, run.security) == (cid, keys.signer.did, "insecure-simulated")
    assert (run.attestation_seq, run.attestation) == (receipt.seq, receipt.statement_id)


def test_it_must_be_signed_by_the_key_its_binding_names(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, **admitting(simulator))
    _, body = report(collab, simulator, cid)
    with pytest.raises(NotAllowed, match="receipt key its binding document names"):
        send(collab, collab.ccrp.key, body)


def test_a_run_is_attested_once(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, **admitting(simulator))
    keys, body = report(collab, simulator, cid)
    send(collab, keys.signer, body)
    keys2, again = report(collab, simulator, cid)
    with pytest.raises(Conflict, match="already attested"):
        send(collab, keys2.signer, again)


def test_a_contract_not_yet_signed_by_all_refuses_runs(collab: Collab, simulator: SimulatedTee):
    cid = collab.propose(**admitting(simulator))
    keys, body = report(collab, simulator, cid)
    with pytest.raises(Conflict, match="is pending"):
        send(collab, keys.signer, body)


def test_a_contract_that_does_not_allow_simulation_refuses_simulated_evidence(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, ccr={"measurements": ["00" * 48]})
    keys, body = report(collab, simulator, cid)
    with pytest.raises(AttestationRejected, match="simulated-allowed"):
        send(collab, keys.signer, body)


def test_a_tampered_report_is_refused_with_the_failed_check_named(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, **admitting(simulator))
    keys, body = report(collab, simulator, cid)
    raw = bytearray(unb64(body.evidence.report))
    raw[0x90] ^= 1
    tampered = body.model_copy(update={"evidence": body.evidence.model_copy(update={"report": b64(bytes(raw))})})
    with pytest.raises(AttestationRejected, match="report-signature"):
        send(collab, keys.signer, tampered)


def test_evidence_bound_to_another_document_is_refused(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, **admitting(simulator))
    keys, body = report(collab, simulator, cid)
    empty_log = f"0:{b64(merkle.EMPTY_ROOT)}"  # a checkpoint of this log, but not the one the evidence binds
    other = body.binding.model_copy(update={"nonce": empty_log})
    with pytest.raises(AttestationRejected, match="report-data"):
        send(collab, keys.signer, body.model_copy(update={"binding": other}))


def test_a_measurement_outside_the_contracts_allowlist_is_refused(collab: Collab, simulator: SimulatedTee):
    terms = admitting(simulator)
    terms["ccr"]["measurements"] = ["ab" * 48]
    cid = active_contract(collab, **terms)
    keys, body = report(collab, simulator, cid)
    with pytest.raises(AttestationRejected, match="measurement"):
        send(collab, keys.signer, body)


def test_simulated_evidence_labelled_sev_snp_is_refused(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, **admitting(simulator))
    keys, body = report(collab, simulator, cid)
    relabelled = body.model_copy(update={"evidence": body.evidence.model_copy(update={"type": "sev-snp"})})
    with pytest.raises(AttestationRejected, match="must say so"):
        send(collab, keys.signer, relabelled)


def test_runs_are_rebuilt_when_the_ledger_restarts(operator: Signer, checkpoint_key: Signer, simulator: SimulatedTee):
    store = MemoryStore()
    ledger = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    collab = Collab(
        ledger,
        operator,
        *(register(ledger, operator, n, r) for n, r in [("consumer", "TDC"), ("bank", "TDP"), ("cloud", "CCRP")]),
    )
    cid = active_contract(collab, **admitting(simulator))
    keys, body = report(collab, simulator, cid)
    send(collab, keys.signer, body)
    reopened = Ledger(store, ORIGIN, checkpoint_key, operator.did)
    assert reopened.registry.runs["run-1"].agent == keys.signer.did


def test_a_contract_that_admits_no_clean_room_refuses_a_report_before_reading_its_evidence(
    collab: Collab, simulator: SimulatedTee, monkeypatch: pytest.MonkeyPatch
):
    """No measurement pinned and no simulation allowed: whatever the evidence says, it could never pass."""
    cid = active_contract(collab)
    keys, body = report(collab, simulator, cid)

    def unread(*args: object, **kwargs: object) -> None:
        raise AssertionError("the evidence was parsed")

    monkeypatch.setattr("chain.ledger.rules.runs.verify_attestation", unread)
    with pytest.raises(AttestationRejected, match="pins no clean-room measurement"):
        send(collab, keys.signer, body)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(operator: Signer, checkpoint_key: Signer) -> tuple[Collab, Clock]:
    clock = Clock()
    ledger = Ledger(MemoryStore(), ORIGIN, checkpoint_key, operator.did, clock=clock)
    return collab_on(ledger, operator), clock


def test_a_nonce_naming_a_checkpoint_superseded_past_the_window_is_stale(clocked, simulator: SimulatedTee):
    collab, clock = clocked
    cid = active_contract(collab, **admitting(simulator, nonce_window_s=60))
    keys, body = report(collab, simulator, cid)
    register(collab.ledger, collab.operator, "late", "TDP")  # the checkpoint the evidence names is superseded
    clock.now += timedelta(seconds=61)
    with pytest.raises(AttestationRejected, match="superseded 61 s before the attestation; the contract accepts 60"):
        send(collab, keys.signer, body)


def test_a_nonce_superseded_within_the_window_is_fresh(clocked, simulator: SimulatedTee):
    collab, clock = clocked
    cid = active_contract(collab, **admitting(simulator, nonce_window_s=60))
    keys, body = report(collab, simulator, cid)
    register(collab.ledger, collab.operator, "late", "TDP")
    clock.now += timedelta(seconds=59)
    send(collab, keys.signer, body)


def test_the_newest_checkpoint_of_a_quiet_log_stays_fresh(clocked, simulator: SimulatedTee):
    collab, clock = clocked
    cid = active_contract(collab, **admitting(simulator, nonce_window_s=60))
    keys, body = report(collab, simulator, cid)
    clock.now += timedelta(hours=2)  # nothing logged since: the evidence cannot predate the log's state
    send(collab, keys.signer, body)


@pytest.mark.parametrize(
    ("nonce", "says"),
    [
        ("1970", "names no checkpoint"),
        ("3:" + b64(bytes(32)), "names no checkpoint of this log"),
        (f"{10**12}:" + b64(bytes(32)), "names no checkpoint of this log"),
        ("03:" + b64(bytes(32)), "names no checkpoint"),
    ],
)
def test_a_nonce_that_names_no_checkpoint_of_this_log_is_refused(collab: Collab, simulator: SimulatedTee, nonce, says):
    cid = active_contract(collab, **admitting(simulator))
    producer = Producer(tsm_root=NO_TEE.tsm_root, sev_device=NO_TEE.sev_device, simulator=simulator)
    keys = AgentKeys.generate()
    body = attest(keys, cid, "run-1", nonce, producer, allow_simulated=True)  # bound honestly to a bad nonce
    with pytest.raises(AttestationRejected, match=says):
        send(collab, keys.signer, body)


def test_a_contract_requiring_one_socket_refuses_a_guest_launched_without(collab: Collab, simulator: SimulatedTee):
    cid = active_contract(collab, **admitting(simulator, single_socket=True))
    keys, body = report(collab, simulator, cid)
    with pytest.raises(AttestationRejected, match="guest-policy: SINGLE_SOCKET is clear"):
        send(collab, keys.signer, body)


# --- hardware evidence, from a test PKI standing in for Intel's: what the ledger refuses ----------------------


@pytest.fixture
def pki(monkeypatch: pytest.MonkeyPatch) -> StandInPki:
    pki = StandInPki()
    trust(pki, monkeypatch)
    return pki


def td_report(collab: Collab, simulator: SimulatedTee, pki: StandInPki, ccr: dict, **qe: object):
    """A TD's attestation under a contract with clean-room terms `ccr` (the TD's MRTD pinned unless `ccr` says)."""
    cid = active_contract(collab, ccr={"measurements": [sample_mrtd()], **ccr})
    keys, body = report(collab, simulator, cid)
    return keys, body.model_copy(update={"evidence": tdx_evidence(pki, body.binding, **qe)})


def test_a_td_quote_from_the_test_pki_under_a_contract_pinning_its_mrtd_is_admitted(
    collab: Collab, simulator: SimulatedTee, pki: StandInPki
) -> None:
    """The control: each refusal below is its own check's."""
    keys, body = td_report(collab, simulator, pki, {})
    send(collab, keys.signer, body)
    assert collab.ledger.registry.runs["run-1"].security == "hardware"


def test_a_td_quote_signed_by_a_rogue_qe_is_refused(collab: Collab, simulator: SimulatedTee, pki: StandInPki) -> None:
    keys, body = td_report(collab, simulator, pki, {}, mrsigner="ab" * 32)
    with pytest.raises(AttestationRejected, match="qe-identity: .*MRSIGNER abababababababab... is not Intel's"):
        send(collab, keys.signer, body)


def test_hardware_evidence_under_a_contract_that_pins_no_image_is_refused(
    collab: Collab, simulator: SimulatedTee, pki: StandInPki
) -> None:
    keys, body = td_report(collab, simulator, pki, {"measurements": [], **admitting(simulator)["ccr"]})
    with pytest.raises(AttestationRejected, match="measurement-pinned: the contract pins no measurement"):
        send(collab, keys.signer, body)


def test_a_term_the_verifier_cannot_check_refuses_the_evidence(
    collab: Collab, simulator: SimulatedTee, pki: StandInPki
) -> None:
    keys, body = td_report(collab, simulator, pki, {"min_tcb": {"tee": 1}})
    with pytest.raises(AttestationRejected, match="min-tcb"):
        send(collab, keys.signer, body)


def test_a_contract_demanding_an_up_to_date_tcb_admits_a_td_whose_collateral_says_so(
    collab: Collab, simulator: SimulatedTee, pki: StandInPki
) -> None:
    keys, body = td_report(collab, simulator, pki, {"tcb_status": ["UpToDate"]})
    evidence = body.evidence.model_copy(update={"collateral": collateral(pki)})
    send(collab, keys.signer, body.model_copy(update={"evidence": evidence}))


@pytest.mark.parametrize("levels", [[(1, "UpToDate", []), (0, "OutOfDate", ["INTEL-SA-00837"])], None])
def test_a_contract_demanding_an_up_to_date_tcb_refuses_an_out_of_date_or_unread_one(
    collab: Collab, simulator: SimulatedTee, pki: StandInPki, levels
) -> None:
    keys, body = td_report(collab, simulator, pki, {"tcb_status": ["UpToDate"]})
    if levels is not None:  # else no collateral comes with the quote
        body = body.model_copy(
            update={"evidence": body.evidence.model_copy(update={"collateral": collateral(pki, levels=levels)})}
        )
    with pytest.raises(AttestationRejected, match="tcb-status"):
        send(collab, keys.signer, body)
