"""The HTTP API: status codes, problem+json, wire formats."""

import json

import pytest
from fastapi.testclient import TestClient

from chain.client import SignedReads
from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from chain.ledger.sqlstore import SqlStore
from chain.tlog import merkle
from chain.tlog.checkpoint import VerifierKey, verify_checkpoint
from chain.tlog.receipt import MEDIA_TYPE, Receipt
from schemas import statement as s
from schemas.canonical import canonical
from schemas.encoding import unb64
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient


@pytest.fixture
def api(database_url, operator, checkpoint_key):
    ledger = Ledger(SqlStore(database_url), ORIGIN, checkpoint_key, operator.did)
    with TestClient(create_app(ledger)) as client:
        client.auth = SignedReads(operator)  # the operator reads everything
        yield client
    ledger.store.close()


def party(operator, name=None, role="TDP"):
    did = Signer.generate().did
    return s.sign(
        operator,
        "party.register",
        {"did": did, "name": name or f"party-{did[-8:]}", "roles": [role], "x25519": age_recipient()},
    )


def post(api, raw, **headers):
    return api.post("/v1/statements", content=json.dumps(raw), headers={"content-type": "application/json", **headers})


def test_append_returns_201_and_a_receipt_that_verifies(api, operator):
    resp = post(api, party(operator))
    assert resp.status_code == 201
    vkey = VerifierKey.parse(api.get("/v1/vkey").text)
    cp, logged = Receipt.model_validate(resp.json()).verify(vkey)
    assert cp.size == 1 and logged.seq == 0


def test_replay_returns_200_with_the_same_receipt(api, operator):
    raw = party(operator)
    first, again = post(api, raw), post(api, raw)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["seq"] == first.json()["seq"] and again.json()["leaf"] == first.json()["leaf"]


def test_accept_tlog_proof_gives_the_c2sp_file(api, operator):
    resp = post(api, party(operator), accept=MEDIA_TYPE)
    assert resp.headers["content-type"].startswith(MEDIA_TYPE)
    assert resp.text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    Receipt.from_tlog_proof(resp.text).verify(VerifierKey.parse(api.get("/v1/vkey").text))


def test_served_entries_are_the_exact_hashed_leaves(api, operator):
    receipts = [post(api, party(operator, f"p{i}")).json() for i in range(3)]
    listed = api.get("/v1/entries", params={"start": 0, "limit": 10}).json()
    assert [canonical(e) for e in listed] == [unb64(r["leaf"]) for r in receipts]
    assert api.get("/v1/entries/1").content == unb64(receipts[1]["leaf"])


def test_a_logged_entry_has_a_receipt_under_the_newest_checkpoint(api, operator):
    first = post(api, party(operator)).json()
    post(api, party(operator, "bureau"))
    vkey = VerifierKey.parse(api.get("/v1/vkey").text)
    cp, logged = Receipt.model_validate(api.get("/v1/entries/0/receipt").json()).verify(vkey)
    assert (cp.size, logged.seq) == (2, 0)
    assert api.get("/v1/entries/0/receipt").json()["statement_id"] == first["statement_id"]
    tlog = api.get("/v1/entries/0/receipt", headers={"accept": MEDIA_TYPE}).text
    assert Receipt.from_tlog_proof(tlog).verify(vkey)[0].size == 2


def test_checkpoint_is_a_signed_note(api, operator):
    post(api, party(operator))
    cp = verify_checkpoint(api.get("/v1/checkpoint").text, VerifierKey.parse(api.get("/v1/vkey").text))
    assert cp.origin == ORIGIN and cp.size == 1


def test_served_proofs_verify_against_signed_checkpoints(api, operator):
    vkey = VerifierKey.parse(api.get("/v1/vkey").text)
    notes = [post(api, party(operator, f"p{i}")).json()["checkpoint"] for i in range(5)]
    cp2, cp5 = (verify_checkpoint(notes[i], vkey) for i in (1, 4))
    assert (cp2.size, cp5.size) == (2, 5)
    inc = api.get("/v1/proofs/inclusion", params={"seq": 2, "size": 5}).json()
    merkle.verify_inclusion(2, 5, unb64(inc["leaf_hash"]), [unb64(p) for p in inc["proof"]], cp5.root)
    con = api.get("/v1/proofs/consistency", params={"first": 2, "second": 5}).json()
    merkle.verify_consistency(2, 5, cp2.root, cp5.root, [unb64(p) for p in con["proof"]])


@pytest.mark.parametrize(
    ("content", "status", "slug"),
    [
        (b"{not json", 400, "malformed"),
        (b'{"typ": "depa/party.register@1"}', 422, "schema"),
        (b"[]", 400, "malformed"),
        (b'{"a": 1, "a": 2}', 400, "malformed"),
    ],
)
def test_malformed_statements_are_problems(api, content, status, slug):
    resp = api.post("/v1/statements", content=content, headers={"content-type": "application/json"})
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["type"] == f"urn:depa:problem:{slug}" and resp.json()["detail"]


def test_bad_signature_is_400(api, operator):
    raw = party(operator)
    raw["body"]["name"] = "changed"
    resp = post(api, raw)
    assert resp.status_code == 400 and resp.json()["type"] == "urn:depa:problem:bad-signature"


def test_signer_not_allowed_is_403(api):
    resp = post(api, party(Signer.generate()))
    assert resp.status_code == 403 and "operator" in resp.json()["detail"]


def test_conflict_is_409(api, operator):
    raw = party(operator)
    post(api, raw)
    again = s.sign(operator, "party.register", {**raw["body"], "name": "other"})
    assert post(api, again).status_code == 409


def test_over_64_kib_is_413(api, operator):
    resp = api.post("/v1/statements", content=b" " * 70_000, headers={"content-type": "application/json"})
    assert resp.status_code == 413 and resp.headers["content-type"] == "application/problem+json"


def test_unknown_things_are_404(api):
    assert api.get("/v1/contracts/sha256:" + "0" * 64).status_code == 404
    assert api.get("/v1/artefacts/sha256:" + "0" * 64).status_code == 404
    assert api.get("/v1/entries/5").status_code == 404
    assert api.get("/v1/entries/5/receipt").status_code == 404
    assert api.get("/v1/nowhere").headers["content-type"] == "application/problem+json"


def test_parties_lists_registrations(api, operator):
    post(api, party(operator, "bank"))
    assert [p["name"] for p in api.get("/v1/parties").json()] == ["bank"]


def test_openapi_documents_the_statement_endpoint(api):
    spec = api.get("/openapi.json").json()
    assert "/v1/statements" in spec["paths"] and api.get("/docs").status_code == 200


def test_the_api_docs_work_without_the_internet(api):
    page = api.get("/docs")
    assert page.status_code == 200 and "/docs/static/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert api.get(f"/docs/static/{asset}").status_code == 200
    assert api.get("/openapi.json").json()["paths"]["/v1/statements"]["post"]["operationId"] == "append"
    assert api.get("/redoc").status_code == 404  # ReDoc's page would load from a CDN too


def test_a_statement_is_found_by_its_id(api, operator):
    raw = party(operator)
    post(api, party(operator))
    seq = post(api, raw).json()["seq"]
    found = api.get(f"/v1/statements/{s.statement_id(raw)}")
    assert found.status_code == 200 and json.loads(found.content)["seq"] == seq == 1
    assert found.content == api.get(f"/v1/entries/{seq}").content
    missing = api.get("/v1/statements/sha256:" + "0" * 64)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    for bad in ("sha256:xyz", "not-an-id", "sha256:" + "g" * 64):
        assert api.get(f"/v1/statements/{bad}").status_code == 400
