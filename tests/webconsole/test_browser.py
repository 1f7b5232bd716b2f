"""The console in a real browser: Debian's Chromium, headless, driven by Playwright.

Each test leaves a screenshot under test-output/console/ for a person to look at.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from chain.ledger.home import Settings
from chain.ledger.service import create_app
from chain.tlog.checkpoint import COSIGNATURE_V1, Checkpoint, Note, cosign, parse_note, vkey_of
from scenarios.scaffold import ScenarioSpec, scaffold
from schemas.canonical import canonical
from schemas.contract import contract_id
from schemas.keys import Signer
from tests.conftest import data_files
from tests.webconsole.conftest import Served, send
from tests.world import serving
from webconsole.app import mount
from webconsole.local import local_console

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra: make test installs it")
CHROMIUM = os.environ.get("DEPA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no Chromium: make test installs Debian's chromium (apt-get install chromium)", allow_module_level=True)

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "console"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]  # fmt: skip
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, served: Served):
    """A fresh browser profile with the log's key pinned, as its user would have done on the trust page."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_init_script(f"localStorage.setItem('depa.console.vkey', {json.dumps(served.world.vkey)})")
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    context.close()
    assert errors == [], f"the page raised: {errors}"


def settled(tab, route: str) -> None:
    """The page has drawn what it fetched."""
    tab.locator("main h1").wait_for()
    if route != "/":  # the explorer's live feed is a request that stays open
        tab.wait_for_load_state("networkidle")


def shot(tab, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# The page's own verify.js on every RFC 9162 vector of a kind; b decodes base64. (An evaluated string is what
# the console's CSP forbids, so both calls are written out here.)
RUN_VECTORS = """async ([vectors, kind]) => {
    const v = await import('/console/static/verify.js');
    const b = (await import('/console/static/util.js')).b64decode;
    const check = {
        inclusion: (x) => v.verifyInclusion(x.leafIdx, x.treeSize, b(x.leafHash), (x.proof || []).map(b), b(x.root)),
        consistency: (x) => v.verifyConsistency(x.size1, x.size2, b(x.root1), b(x.root2), (x.proof || []).map(b)),
    }[kind];
    const out = [];
    for (const x of vectors) {
        try { out.push(await check(x)); } catch { out.push(false); }
    }
    return out;
}"""


@pytest.mark.parametrize("kind", ["inclusion", "consistency"])
def test_rfc9162_vectors_pass_in_the_browser(page, served, kind):
    page.goto(f"{served.url}/console/#/trust")
    vectors = [json.loads(p.read_text()) for p in data_files("merkle", kind, pattern="**/*.json")]
    assert page.evaluate(RUN_VECTORS, [vectors, kind]) == [not v["wantErr"] for v in vectors]


def _seen(page, served, size: int, root: str) -> None:
    """As if this browser had verified a checkpoint of `size` with `root` under the pinned key before."""
    key, seen = json.dumps("depa.console.seen:" + served.world.vkey), json.dumps({"size": size, "root": root})
    page.add_init_script(f"localStorage.setItem({key}, {json.dumps(seen)})")


def test_a_checkpoint_extending_what_the_browser_saw_passes(page, served):
    older = Checkpoint.parse(parse_note(served.world.ledger.store.checkpoint_at(3)).text)
    _seen(page, served, 3, base64.b64encode(older.root).decode())
    page.goto(f"{served.url}/console/#/entry/5")
    page.get_by_text("one history with the checkpoint of size 3 this browser verified before").wait_for()
    assert "PASS consistency" in page.locator("ul.checks").inner_text()


def test_a_log_that_forked_for_this_browser_is_caught(page, served):
    _seen(page, served, 3, base64.b64encode(bytes(range(32))).decode())  # another tree of size 3, seen before
    page.goto(f"{served.url}/console/#/entry/5")
    page.get_by_text("NOT verified: NOT one history with the checkpoint of size 3").wait_for()
    assert "FAIL consistency" in page.locator("ul.checks").inner_text()
    page.goto(f"{served.url}/console/")
    page.get_by_text("the log forked or rolled back").first.wait_for()
    shot(page, "explorer-fork-caught")


@pytest.mark.parametrize("pinned_right_key", [True, False])
def test_witness_cosignatures_are_verified_in_the_browser(browser, collab, pinned_right_key):
    ledger, witness = collab.ledger, Signer.generate()
    note = parse_note(ledger.checkpoint())
    cosigned = str(Note(note.text, (*note.signatures, cosign(note.text, "witness.test", witness, 1_700_000_000))))
    ledger.add_cosignatures(cosigned, [vkey_of("witness.test", witness, COSIGNATURE_V1)])
    pinned = vkey_of("witness.test", witness if pinned_right_key else Signer.generate(), COSIGNATURE_V1)
    app = create_app(ledger, Settings(read="public"))
    mount(app, ledger)
    with serving(app) as url:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.add_init_script(f"localStorage.setItem('depa.console.vkey', {json.dumps(str(ledger.vkey))})")
        tab = context.new_page()
        tab.goto(f"{url}/console/#/trust")
        tab.get_by_label("Witnesses' vkeys").fill(str(pinned))
        tab.get_by_role("button", name="Pin these witnesses").click()
        tab.get_by_text("Pinned 1 witness: witness.test").wait_for()
        tab.goto(f"{url}/console/")
        if pinned_right_key:
            tab.get_by_text("witness.test cosigned it at 2023-11-14T22:13:20Z, verified in this browser").wait_for()
            shot(tab, "explorer-witnessed")
        else:
            tab.get_by_text("no cosignature by witness.test").wait_for()
        context.close()


def test_pinning_a_key_on_the_trust_page(browser, served):
    tab = browser.new_page()
    tab.goto(f"{served.url}/console/#/trust")
    tab.get_by_label("The log's vkey").fill(served.world.vkey)
    tab.get_by_role("button", name="Pin this key").click()
    tab.get_by_text(f"Pinned {served.world.ledger.origin}").wait_for()
    shot(tab, "trust")
    name, _, key = served.world.vkey.split("+", 2)
    tab.get_by_label("The log's vkey").fill(f"{name}+00000000+{key}")
    tab.get_by_role("button", name="Pin this key").click()
    tab.get_by_text("the vkey's key id does not match").wait_for()
    tab.close()


def test_explorer_shows_the_checkpoint_verified_and_the_run(page, served):
    page.goto(f"{served.url}/console/")
    page.get_by_text(f"Signature by {served.world.ledger.origin} verified in this browser").wait_for()
    page.locator("table.entries tbody tr").first.wait_for()
    assert page.locator("table.entries tbody tr").count() == min(50, served.world.ledger.info().size)
    page.get_by_label("Type").select_option("attestation.report")
    page.get_by_role("button", name="Apply filters").click()
    playwright.expect(page.locator("table.entries tbody tr")).to_have_count(1)
    assert "the run's clean room" in page.locator("table.entries tbody tr").inner_text()
    shot(page, "explorer-filtered")


def test_new_entries_appear_without_reloading(page, served):
    page.goto(f"{served.url}/console/")
    page.get_by_text("Live: new entries appear").wait_for()
    size = served.world.ledger.info().size
    body = {"digest": "sha256:" + "ab" * 32, "name": "notes.csv", "kind": "dataset"}
    send(served.world, "bureau", "artefact.register", body)
    page.locator(f'tr[data-seq="{size}"]').wait_for()
    assert page.locator("[data-log-size]").inner_text() == str(size + 1)
    shot(page, "explorer-live")


def test_a_ledger_serving_its_parties_only_is_read_with_a_key_signed_in_the_browser(browser, served, tmp_path):
    """RFC 9421 signatures made by WebCrypto in the page, checked by the ledger: the page, the live feed and the
    entry's receipt are all signed reads; a party that is not an auditor is told why it may not read."""
    world = served.world
    app = create_app(world.ledger)  # parties only, the default
    mount(app, world.ledger)
    operator, bank = tmp_path / "operator.pem", tmp_path / "bank.pem"
    operator.write_bytes(world.operator.pem())
    bank.write_bytes(world.parties["bank"].pem())
    with serving(app) as url:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.add_init_script(f"localStorage.setItem('depa.console.vkey', {json.dumps(world.vkey)})")
        tab = context.new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        tab.goto(f"{url}/console/")
        tab.get_by_text("the read is not signed").wait_for()
        tab.get_by_label("Key file to read with").set_input_files(str(bank))
        tab.get_by_text("served to the operator and auditors").wait_for()  # the bank reads its contracts via /v1
        tab.get_by_label("Key file to read with").set_input_files(str(operator))
        tab.get_by_text("Live: new entries appear").wait_for()
        size = world.ledger.info().size
        send(
            world, "bureau", "artefact.register", {"digest": "sha256:" + "cd" * 32, "name": "n.csv", "kind": "dataset"}
        )
        tab.locator(f'tr[data-seq="{size}"]').wait_for()
        shot(tab, "explorer-signed-reads")
        tab.locator('a[href="#/entry/5"]').first.click()
        tab.get_by_text("Verified in this browser: entry 5 is in the log").wait_for()
        context.close()


def test_an_entry_verifies_in_the_browser(page, served):
    page.goto(f"{served.url}/console/#/entry/5")
    page.get_by_text("Verified in this browser: entry 5 is in the log").wait_for()
    checks = page.locator("ul.checks li").all_inner_texts()
    assert [c.split(":")[0] for c in checks] == [
        "PASS entry bytes", "PASS leaf hash", "PASS checkpoint signature", "PASS inclusion proof",
        "PASS consistency with what this browser saw",
    ]  # fmt: skip
    shot(page, "entry-verified")


def test_a_tampered_proof_fails_in_the_browser(page, served):
    def tamper(route):
        if "tlog-proof" in route.request.headers.get("accept", ""):
            return route.continue_()  # the receipt shown for download, not the one checked
        receipt = route.fetch().json()
        first = bytearray(base64.b64decode(receipt["proof"][0]))
        first[0] ^= 1
        receipt["proof"][0] = base64.b64encode(bytes(first)).decode()
        return route.fulfill(json=receipt)

    page.route("**/v1/entries/5/receipt", tamper)
    page.goto(f"{served.url}/console/#/entry/5")
    page.get_by_text("NOT verified: the inclusion proof does not lead to the signed root").wait_for()
    assert "FAIL inclusion proof" in page.locator("ul.checks").inner_text()
    shot(page, "entry-tampered-proof")


def test_a_checkpoint_signed_by_another_key_fails_in_the_browser(page, served):
    other = served.world.vkey.split("+")[0]
    impostor = str(vkey_of(other, Signer.generate()))
    page.add_init_script(f"localStorage.setItem('depa.console.vkey', {json.dumps(impostor)})")
    page.goto(f"{served.url}/console/#/entry/5")
    page.get_by_text("NOT verified: the checkpoint carries no signature by the pinned key").wait_for()


def test_signing_a_contract_with_a_key_file_never_uploads_it(page, served, tmp_path):
    key_file = tmp_path / "bank.pem"
    key_file.write_bytes(served.world.parties["bank"].pem())
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.post_data or "") if r.method == "POST" else None)
    page.goto(f"{served.url}/console/#/contract/{served.pending}")
    page.get_by_label("Your key file").set_input_files(str(key_file))
    page.get_by_role("button", name="Sign the contract").click()
    page.get_by_text("Signed as bank").wait_for()
    assert "receipt verified in this browser" in page.locator("form").last.inner_text()
    record = served.world.ledger.registry.contracts[served.pending]
    assert served.world.parties["bank"].did in {sig.did for sig in record.signatures.values()}
    assert posted and all("PRIVATE KEY" not in body and '"typ":"depa/contract.sign@1"' in body for body in posted)
    shot(page, "contract-signed")


def test_proposing_a_contract_from_files_shows_its_receipt(page, served, tmp_path):
    doc = dict(served.world.ledger.registry.contracts[served.contract].raw, id="proposed-in-the-browser")
    (tmp_path / "contract.json").write_text(json.dumps(doc, indent=1))
    (tmp_path / "consumer.pem").write_bytes(served.world.parties["consumer"].pem())
    page.goto(f"{served.url}/console/#/contracts")
    page.get_by_label("Contract (JSON)").set_input_files(str(tmp_path / "contract.json"))
    page.get_by_label("Your key file").set_input_files(str(tmp_path / "consumer.pem"))
    page.get_by_role("button", name="Sign and propose").click()
    page.get_by_text("receipt verified in this browser").wait_for()
    cid = contract_id(doc)  # the browser's JCS bytes hash to the id the ledger computed
    assert cid in served.world.ledger.registry.contracts
    assert page.get_by_role("link", name=f"Contract {cid}").is_visible()
    receipt = json.loads(page.locator("pre.receipt").inner_text())
    assert receipt["checkpoint"].startswith(served.world.ledger.origin)
    shot(page, "contract-proposed")


def test_a_contract_file_that_is_not_json_is_refused_with_the_reason(page, served, tmp_path):
    (tmp_path / "contract.json").write_text("{not json")
    (tmp_path / "consumer.pem").write_bytes(served.world.parties["consumer"].pem())
    size = served.world.ledger.info().size
    page.goto(f"{served.url}/console/#/contracts")
    page.get_by_label("Contract (JSON)").set_input_files(str(tmp_path / "contract.json"))
    page.get_by_label("Your key file").set_input_files(str(tmp_path / "consumer.pem"))
    page.get_by_role("button", name="Sign and propose").click()
    page.get_by_role("alert").get_by_text("contract.json is not JSON").wait_for()
    assert served.world.ledger.info().size == size


def test_jcs_in_the_browser_matches_rfc8785(page, served):
    docs = [
        {"b": 1, "a": [1.5, 1e-7, 1e21, 100, -0.0, True, None], "é": 'é\u2028\n"', "\U0001f600": {"z": {}, "y": []}},
        served.world.ledger.registry.contracts[served.contract].raw,
    ]
    page.goto(f"{served.url}/console/#/trust")
    browser_side = page.evaluate(
        """async (docs) => {
            const sign = await import('/console/static/sign.js');
            return Promise.all(docs.map(async (d) => [sign.canonicalize(d), await sign.contractId(d)]));
        }""",
        docs,
    )
    assert browser_side == [[canonical(d).decode(), contract_id(d)] for d in docs]


def test_every_page_labels_its_controls(page, served):
    for route in ["/", "/contracts", f"/contract/{served.pending}", f"/lineage/{served.model}",
                  f"/budgets/{served.contract}", f"/audit/{served.contract}", "/trust"]:  # fmt: skip
        page.goto(f"{served.url}/console/#{route}")
        settled(page, route)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                   .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
                   .map((el) => el.outerHTML)"""
        )
        assert unlabelled == [], route
        assert page.locator("svg:not([aria-label])").count() == 0, route


def test_every_page_fits_a_laptop_screen_without_scrolling_sideways(browser, served):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(f"localStorage.setItem('depa.console.vkey', {json.dumps(served.world.vkey)})")
    tab = context.new_page()
    for route in ["/", "/entry/5", f"/contract/{served.contract}", f"/lineage/{served.model}",
                  f"/budgets/{served.contract}", f"/audit/{served.contract}", "/contracts", "/trust"]:  # fmt: skip
        tab.goto(f"{served.url}/console/#{route}")
        settled(tab, route)
        overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{route} is {overflow} px wider than a 1280 px screen"
    context.close()


def test_a_key_no_party_holds_is_refused_with_the_reason(page, served, tmp_path):
    key_file = tmp_path / "stranger.pem"
    key_file.write_bytes(Signer.generate().pem())
    page.goto(f"{served.url}/console/#/contract/{served.pending}")
    page.get_by_label("Your key file").set_input_files(str(key_file))
    page.get_by_role("button", name="Sign the contract").click()
    page.get_by_role("alert").get_by_text("is not the operator, a registered party").wait_for()


def test_the_contract_page_shows_terms_caps_and_clean_rooms(page, served):
    page.goto(f"{served.url}/console/#/contract/{served.contract}")
    page.get_by_role("heading", name="Allowed clean rooms").wait_for()
    assert "INSECURE" in page.locator("section", has_text="Allowed clean rooms").inner_text()
    caps = page.locator("table", has_text="privacy caps").inner_text()
    assert "ds-bank" in caps and "ds-bureau" in caps
    shot(page, "contract")


def test_following_a_lineage_graph_by_mouse_and_keyboard(page, served):
    page.goto(f"{served.url}/console/#/lineage/{served.model}")
    graph = page.locator("svg.lineage")
    graph.wait_for()
    assert graph.locator(f'[data-id="{served.model}"]').get_attribute("class").endswith("node-root")
    graph.locator("g.node-run").click()
    page.get_by_role("link", name="Entries of this run").wait_for()
    dataset = graph.locator("g.node-artefact", has_text="(dataset)").first
    dataset.focus()
    page.keyboard.press("Enter")
    page.get_by_role("link", name="Show this artefact's lineage").click()
    playwright.expect(page.locator("svg.lineage .node-root")).not_to_have_attribute("data-id", served.model)
    root = page.locator("svg.lineage .node-root").get_attribute("data-id")
    assert root != served.model and root in {i.digest for i in served.world.inputs}
    shot(page, "lineage")


def test_budgets_show_the_ledgers_figures_and_a_chart(page, served):
    page.goto(f"{served.url}/console/#/budgets/{served.contract}")
    page.locator("svg.budget-chart").first.wait_for()
    view = served.world.ledger.budget(served.contract)
    assert page.locator("svg.budget-chart").count() == len(view.datasets)
    now = page.locator("table").first.inner_text()
    for d in view.datasets:
        assert f"{d.remaining_epsilon:.3f}" in now and f"{d.committed_epsilon:.3f}" in now
    shot(page, "budgets")


def test_the_audit_page_lists_each_check_with_its_result(page, served):
    page.goto(f"{served.url}/console/#/audit/{served.contract}")
    page.get_by_text("entries audited").wait_for(timeout=120_000)
    text = page.locator("main").inner_text()
    assert "0 fail" in text and "INSECURE" in text and "attestation" in text
    shot(page, "audit")


@pytest.mark.slow
def test_a_scenario_runs_to_the_end_in_the_browser(browser, tmp_path):
    """A scenario of the user's own (the smallest that runs: the built-in ones run in tests/scenarios)."""
    spec = {"scenario_name": "tiny", "title": "a tiny collaboration",
            "tdps": [{"name": "lab", "datasets": [{"name": "tests", "records": 600}]}]}  # fmt: skip
    scaffold(ScenarioSpec.model_validate(spec), tmp_path / "mine")
    app, runner = local_console(tmp_path / "home", tmp_path / "runs", [tmp_path / "mine"])
    try:
        with serving(app) as url:
            tab = browser.new_page(viewport={"width": 1366, "height": 900})
            tab.goto(f"{url}/console/#token={runner.token}")
            tab.get_by_role("heading", name="a tiny collaboration").wait_for(timeout=TIMEOUT_MS)
            tab.get_by_role("button", name="Run tiny").click()
            tab.get_by_text("tiny finished and depa-audit verify passed").wait_for(timeout=240_000)
            steps = tab.locator("ol.steps li").all_inner_texts()
            assert steps[0].startswith("starting the ledger") and "the auditor verifies the whole ledger" in steps[-1]
            shot(tab, "scenario-finished")
            tab.get_by_role("button", name="Explore its ledger").click()
            explore = tab.get_by_role("link", name="Open http://127.0.0.1")
            explore.wait_for(timeout=TIMEOUT_MS)
            tab.goto(explore.get_attribute("href"))
            tab.locator("table.entries tbody tr").first.wait_for(timeout=TIMEOUT_MS)
            shot(tab, "scenario-ledger")
            tab.close()
    finally:
        runner.close()
