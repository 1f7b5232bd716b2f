"""Who may read: a ledger serving its parties only answers entries and views to signed reads (RFC 9421), each
reader sees its own contracts, auditors and the operator see everything, and proofs stay public."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from ccr_agent.simulated import SimulatedTee
from chain.client import SignedReads
from chain.ledger.home import Settings
from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from schemas import httpsig
from schemas.contract import contract_id
from schemas.keys import Signer
from tests.clean_room import Room, room
from tests.conftest import Collab, Party, contract_doc, register
from tests.world import serving_home
from webconsole.app import mount


@pytest.fixture
def setting(collab: Collab, simulator: SimulatedTee) -> tuple[Room, Party, Party, str]:
    """Contract A (consumer, bank, cloud) with an attested run; contract B between the consumer and a rival."""
    r = room(collab, simulator)
    r.attest("run-1")
    r.start("run-1")
    r.output("run-1")
    rival = register(collab.ledger, collab.operator, "rival", "TDP")
    auditor = register(collab.ledger, collab.operator, "auditor", "AUDITOR")
    doc = contract_doc(collab.tdc, [rival], collab.ccrp)
    collab.send(collab.tdc.key, "contract.propose", {"contract": doc})
    return r, rival, auditor, contract_id(doc)


@pytest.fixture
def api(ledger: Ledger) -> Iterator[TestClient]:
    app = create_app(ledger)  # the default: parties only
    mount(app, ledger)
    with TestClient(app) as client:
        yield client


def get(api: TestClient, path: str, reader: Signer | None = None, **params):
    return api.get(path, params=params or None, auth=SignedReads(reader) if reader else None)


def problem(resp, status: int) -> str:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    return resp.json()["detail"]


def test_parties_only_is_the_default():
    assert Settings().read == "parties"


@pytest.mark.parametrize("path", ["/v1/entries", "/v1/entries/0", "/v1/entries/0/receipt", "/v1/parties",
                                  "/console/api/contracts", "/console/api/entries"])  # fmt: skip
def test_an_unsigned_read_of_entries_is_401(api, setting, path):
    assert "not signed" in problem(get(api, path), 401)


def test_a_wrongly_signed_read_is_401(api, setting):
    r, _, auditor, _ = setting
    signed = httpsig.sign_read(auditor.key, "GET", "testserver", "/v1/entries/1", "", int(time.time()))
    assert "does not verify" in problem(api.get("/v1/entries/0", headers=signed), 401)  # signed for another entry
    stale = httpsig.sign_read(auditor.key, "GET", "testserver", "/v1/entries/0", "", int(time.time()) - 3600)
    assert "created" in problem(api.get("/v1/entries/0", headers=stale), 401)


def test_a_read_signed_by_a_stranger_is_403(api, setting):
    assert "not a registered party" in problem(get(api, "/v1/parties", Signer.generate()), 403)


def test_a_revoked_party_reads_nothing(api, setting, collab):
    _, rival, _, _ = setting
    assert get(api, "/v1/parties", rival.key).status_code == 200
    collab.send(collab.operator, "party.revoke", {"did": rival.did, "reason": "left"})
    assert "revoked" in problem(get(api, "/v1/parties", rival.key), 403)


def test_an_auditor_reads_everything(api, setting, ledger):
    r, _, auditor, other = setting
    size = ledger.info().size
    assert len(get(api, "/v1/entries", auditor.key, limit=1000).json()) == size
    assert get(api, f"/v1/contracts/{r.cid}", auditor.key).status_code == 200
    assert get(api, f"/v1/contracts/{other}", auditor.key).status_code == 200
    assert get(api, "/console/api/contracts", auditor.key).status_code == 200


def test_the_operator_reads_everything(api, setting, operator):
    assert get(api, "/v1/entries", operator).status_code == 200


def test_a_party_reads_its_own_contracts_and_nothing_of_others(api, setting, collab):
    r, rival, _, other = setting
    bank = collab.tdp.key
    assert get(api, f"/v1/contracts/{r.cid}", bank).status_code == 200
    assert get(api, f"/v1/contracts/{r.cid}/budget", bank).status_code == 200
    assert get(api, "/v1/runs/run-1", bank).status_code == 200
    assert get(api, f"/v1/artefacts/{r.digest}", bank).status_code == 200
    assert get(api, f"/v1/artefacts/{r.digest}/lineage", bank).json()["artefacts"]
    # contract B is the rival's: to the bank it does not exist, and the rival sees nothing of contract A
    assert "no contract" in problem(get(api, f"/v1/contracts/{other}", bank), 404)
    assert get(api, f"/v1/contracts/{other}", rival.key).status_code == 200
    for path in (f"/v1/contracts/{r.cid}", f"/v1/contracts/{r.cid}/budget", "/v1/runs/run-1",
                 f"/v1/artefacts/{r.digest}", f"/v1/artefacts/{r.digest}/lineage"):  # fmt: skip
        problem(get(api, path, rival.key), 404)
    short = r.digest[:20]  # a short digest finds only what the reader may see
    assert get(api, f"/v1/artefacts?prefix={short}", bank).json() == [r.digest]
    assert get(api, f"/v1/artefacts?prefix={short}", rival.key).json() == []


def test_a_party_reads_the_entries_of_its_contracts_one_by_one(api, setting, collab, ledger):
    _, rival, _, _ = setting
    leaves = [ledger.leaf(seq) for seq in range(ledger.info().size)]
    attested = ledger.registry.runs["run-1"].attestation_seq
    for seq in (0, attested):  # a party registration (the directory) and the bank's own contract
        assert get(api, f"/v1/entries/{seq}", collab.tdp.key).content == leaves[seq]
        assert get(api, f"/v1/entries/{seq}/receipt", collab.tdp.key).status_code == 200
    assert get(api, f"/v1/entries/{attested}", rival.key).status_code == 404
    proposal_b = len(leaves) - 1  # the last entry
    assert get(api, f"/v1/entries/{proposal_b}", collab.tdp.key).status_code == 404
    assert get(api, f"/v1/entries/{proposal_b}", rival.key).status_code == 200
    # a listing of the log would be a filtered log: only whole-log readers get one
    assert "auditors" in problem(get(api, "/v1/entries", collab.tdp.key), 403)
    assert "auditors" in problem(get(api, "/console/api/contracts", collab.tdp.key), 403)


def test_an_attested_run_reads_its_own_contract(api, setting):
    r, _, _, other = setting
    agent = r.agents["run-1"].signer
    assert get(api, f"/v1/contracts/{r.cid}", agent).status_code == 200
    assert get(api, f"/v1/contracts/{other}", agent).status_code == 404


PUBLIC = ["/v1/checkpoint", "/v1/vkey", "/v1/log", "/v1/ready", "/v1/proofs/inclusion?seq=0&size=2",
          "/v1/proofs/consistency?first=1&second=2"]  # fmt: skip


@pytest.mark.parametrize("path", PUBLIC)
def test_checkpoints_vkey_and_proofs_stay_public(api, setting, path):
    assert api.get(path).status_code == 200


def test_a_public_ledger_answers_unsigned_reads(ledger, setting):
    r, *_ = setting
    with TestClient(create_app(ledger, Settings(read="public"))) as api:
        assert api.get("/v1/entries").status_code == 200
        assert api.get(f"/v1/contracts/{r.cid}").status_code == 200


def test_serve_read_public_opens_reads_and_the_default_keeps_them_for_parties(tmp_path) -> None:
    """`depa-chain serve` as installed: --read public answers an unsigned read; without it, 401."""
    for options, status in (((), 401), (("--read", "public"), 200)):
        root = tmp_path / str(status)
        root.mkdir()
        with serving_home(root, *options) as port:
            assert httpx.get(f"http://127.0.0.1:{port}/v1/parties", timeout=10).status_code == status
