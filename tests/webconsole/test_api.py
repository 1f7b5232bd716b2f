"""The console's JSON API, over HTTP, on a ledger holding a complete run."""

from __future__ import annotations

import time

import httpx
import pytest

from chain.ledger.home import Settings
from chain.ledger.service import create_app
from chain.tlog.checkpoint import COSIGNATURE_V1, Note, cosign, load_vkey, parse_note, vkey_of
from chain.tlog.receipt import Receipt
from schemas.keys import Signer
from tests.webconsole.conftest import Served
from tests.world import serving
from webconsole.app import mount


@pytest.fixture(scope="module")
def http(served: Served) -> httpx.Client:
    with httpx.Client(base_url=served.url, timeout=60) as client:
        yield client


def test_the_console_page_is_served_with_its_scripts(http):
    page = http.get("/console/", follow_redirects=True)
    assert page.status_code == 200 and 'src="/console/static/app.js"' in page.text
    assert http.get("/console/static/verify.js").headers["content-type"].startswith("text/javascript")


def test_console_pages_load_only_their_own_scripts(http):
    for path in ("/console/", "/console/static/app.js"):
        answer = http.get(path)
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_summary_gives_the_signed_checkpoint_and_no_runner(http, served):
    summary = http.get("/console/api/summary").json()
    assert summary["size"] == served.world.ledger.info().size
    assert summary["checkpoint"] == served.world.ledger.checkpoint()
    assert summary["runner"] is False


def test_entries_come_newest_first_with_the_signer_named(http, served):
    page = http.get("/console/api/entries", params={"limit": 5}).json()
    seqs = [r["seq"] for r in page["rows"]]
    assert seqs == list(range(page["size"] - 1, page["size"] - 6, -1))
    assert page["rows"][0]["signer_name"] == "consumer"  # the second contract's signature


def test_entries_filter_by_type_and_party(http):
    rows = http.get("/console/api/entries", params={"kind": "contract.sign", "party": "bank"}).json()["rows"]
    assert [(r["kind"], r["signer_name"]) for r in rows] == [("contract.sign", "bank")]


def test_entries_filter_by_run_names_the_clean_room(http):
    rows = http.get("/console/api/entries", params={"run": "r1", "limit": 200}).json()["rows"]
    assert {r["run"] for r in rows} == {"r1"} and "attestation.report" in {r["kind"] for r in rows}
    assert {r["signer_name"] for r in rows if r["kind"] == "budget.commit"} == {"the run's clean room"}


def test_a_filter_naming_nothing_in_the_log_gives_no_rows(http):
    assert http.get("/console/api/entries", params={"contract": "sha256:" + "0" * 64}).json()["rows"] == []


def test_a_bad_filter_is_a_problem_document(http):
    answer = http.get("/console/api/entries", params={"since": "yesterday"})
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"


def test_an_entry_shows_its_statement_and_signer(http, served):
    shown = http.get("/console/api/entries/1").json()
    assert shown["statement"]["typ"] == "depa/party.register@1"
    assert shown["row"]["signer_name"] == "the ledger's operator"


def test_an_entry_receipt_verifies_offline(http, served):
    receipt = Receipt.model_validate(http.get("/v1/entries/3/receipt").json())
    checkpoint, logged = receipt.verify(load_vkey(served.world.vkey))
    assert logged.seq == 3 and checkpoint.size == served.world.ledger.info().size
    text = http.get("/v1/entries/3/receipt", headers={"Accept": "text/x.tlog-proof"}).text
    assert Receipt.from_tlog_proof(text).seq == 3


def test_a_missing_entry_is_404(http):
    answer = http.get("/console/api/entries/100000")
    assert answer.status_code == 404 and answer.json()["type"] == "urn:depa:problem:not-found"


def test_contracts_list_states_and_who_signed(http, served):
    contracts = {c["id"]: c for c in http.get("/console/api/contracts").json()}
    assert contracts[served.contract]["state"] == "active"
    pending = contracts[served.pending]
    assert pending["state"] == "pending"
    assert {p["name"]: p["signed_seq"] is not None for p in pending["parties"]} == {
        "consumer": True, "bank": False, "bureau": False, "cloud": False,
    }  # fmt: skip


def test_lineage_is_the_auditors_graph_of_the_model(http, served):
    graph = http.get(f"/console/api/lineage/{served.model}").json()
    kinds = {n["kind"] for n in graph["nodes"]}
    assert kinds == {"artefact", "run", "contract", "attestation"}
    relations = {e["relation"] for e in graph["edges"]}
    assert {"derived_from", "generated_by", "used", "under", "attested_by"} <= relations


def test_lineage_of_an_unknown_artefact_is_404(http):
    assert http.get("/console/api/lineage/sha256:" + "1" * 64).status_code == 404


def test_budget_history_steps_from_reserve_to_commit(http, served):
    series = http.get(f"/console/api/contracts/{served.contract}/budget").json()
    assert series and all(s["cap"] > 0 for s in series)
    for s in series:
        kinds = [p["kind"] for p in s["points"]]
        assert kinds == ["budget.reserve", "budget.commit"]
        reserved, committed = s["points"]
        assert reserved["committed"] == 0 and reserved["composed"] > 0
        assert committed["committed"] == pytest.approx(reserved["composed"], rel=1e-6)
    ledger_view = http.get(f"/v1/contracts/{served.contract}/budget").json()
    final = {s["dataset"]: s["points"][-1]["remaining"] for s in series}
    assert final == {d["dataset"]: pytest.approx(d["remaining_epsilon"]) for d in ledger_view["datasets"]}


def test_audit_of_the_contract_passes_with_the_simulated_tee_labelled(http, served):
    report = http.get(f"/console/api/contracts/{served.contract}/audit").json()
    statuses = {(f["scope"], f["check"]): f["status"] for f in report["log"] + report["findings"]}
    assert "fail" not in statuses.values()
    assert statuses[("run r1", "tee")] == "insecure"
    assert report["size"] == served.world.ledger.info().size


def test_auditing_an_unknown_contract_is_404(http):
    answer = http.get("/console/api/contracts/sha256:" + "2" * 64 + "/audit")
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"


def test_artefacts_list_filters_by_kind(http, served):
    models = http.get("/console/api/artefacts", params={"kind": "model"}).json()
    assert served.model in {a["digest"] for a in models} and {a["kind"] for a in models} == {"model"}


def test_the_live_feed_sends_each_new_entry(http, served):
    size = served.world.ledger.info().size
    deadline = time.monotonic() + 10  # the feed never ends: a broken one must fail here, not hang
    with http.stream("GET", "/console/api/events", params={"after": size - 2}) as stream:
        events = []
        for line in stream.iter_lines():
            if line.startswith("data: {"):
                events.append(httpx.Response(200, content=line[6:]).json())
            if len(events) == 2 or time.monotonic() > deadline:
                break
    assert [e["seq"] for e in events] == [size - 2, size - 1]


def test_the_read_only_console_has_no_scenario_runner(http):
    assert http.get("/console/api/scenarios").status_code == 404


def test_summary_names_the_witnesses_of_the_last_witnessed_checkpoint(collab):
    ledger, witness = collab.ledger, Signer.generate()
    note = parse_note(ledger.checkpoint())
    cosigned = str(Note(note.text, (*note.signatures, cosign(note.text, "witness.test", witness, 1_700_000_000))))
    ledger.add_cosignatures(cosigned, [vkey_of("witness.test", witness, COSIGNATURE_V1)])
    app = create_app(ledger, Settings(read="public"))
    mount(app, ledger)
    with serving(app) as url:
        summary = httpx.get(f"{url}/console/api/summary").json()
    assert summary["signers"] == [ledger.origin, "witness.test"]
    assert parse_note(summary["witnessed"]).text == note.text
