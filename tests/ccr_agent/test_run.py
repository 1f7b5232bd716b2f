"""The clean-room run end to end against a served ledger and two key brokers, and every way it must refuse."""

from __future__ import annotations

import copy
import json
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pyrage
import pytest
from typer.testing import CliRunner

from attestation.binding import report_data_for
from ccr_agent.attest import AgentKeys, attest
from ccr_agent.cli import app as cli
from ccr_agent.run import RunFailed, run
from ccr_agent.simulated import SimulatedTee
from chain.tlog.entry import decode
from chain.tlog.freshness import nonce_for
from keybroker.client import request_key
from privacy import budget
from schemas import statement as s
from schemas.contract import contract_id
from schemas.digest import artefact_digest
from schemas.encoding import b64
from schemas.errors import AttestationRejected, BudgetExceeded, Conflict, DepaError, NotAllowed, Unprocessable
from schemas.keys import Signer
from schemas.statement import Segment
from tests.attestation.tdx_forge import StandInPki, sample_mrtd, tdx_evidence, trust
from tests.world import BANK, BUREAU, PIPELINE, World, build, running


@pytest.fixture
def world(tmp_path: Path, simulator: SimulatedTee):
    with running(build(tmp_path, simulator)) as w:
        yield w


def kinds(world: World, run_id: str) -> list[str]:
    return [e.statement["typ"].split("/")[1].split("@")[0] for e in entries(world) if run_of(e) == run_id]


def entries(world: World):
    return [decode(leaf) for leaf in world.ledger.leaves(0, 1000)]


def run_of(e) -> str | None:
    body = e.statement["body"]
    return body.get("run_id") or body.get("produced_by")


def pipeline_with(**privacy) -> dict:
    doc = copy.deepcopy(PIPELINE)
    doc["pipeline"][1]["config"]["privacy_params"].update(privacy)
    return doc


def test_a_run_goes_from_attestation_to_completion_on_the_ledger(world: World) -> None:
    report = run(world.spec(run_id="r1"), world.producer())
    assert kinds(world, "r1") == [
        "attestation.report", "budget.reserve", "budget.reserve", "key.release", "key.release", "run.start",
        "budget.commit", "budget.commit", "artefact.register", "artefact.register", "artefact.register",
        "artefact.register", "run.complete",
    ]  # fmt: skip
    view = world.client().run("r1")
    assert view.status == "succeeded" and len(view.outputs) == 4
    assert report.metrics["accuracy"] > 0.6


def test_the_budget_committed_is_what_opacus_executed(world: World) -> None:
    run(world.spec(run_id="r1"), world.producer())
    views = {d.dataset: d for d in world.client().budget(world.cid).datasets}
    for dataset in (BANK, BUREAU):
        view = views[dataset]
        spent = budget.curve(view.committed_segments)
        assert budget.epsilon(spent, view.delta) <= 2.0 + 1e-3  # the pipeline's epsilon, for the run alone
        charged = budget.DatasetBudget(cap=view.cap, delta=view.delta).certified(spent)
        assert view.committed_epsilon == pytest.approx(charged)  # what the dataset's filter counts
        assert view.reservations == []


def test_outputs_open_only_for_the_consumer_and_match_their_registration(world: World) -> None:
    report = run(world.spec(run_id="r1"), world.producer())
    for digest, sealed in report.outputs.items():
        plain = pyrage.decrypt(sealed.read_bytes(), [world.identities["consumer"]])
        out = world.root / "check" / sealed.name.removesuffix(".age")
        out.parent.mkdir(exist_ok=True)
        out.write_bytes(plain)
        assert artefact_digest(out)[0] == digest
        with pytest.raises(pyrage.DecryptError):
            pyrage.decrypt(sealed.read_bytes(), [world.identities["bank"]])
        assert set(world.client().artefact(digest).derived_from) == {i.digest for i in world.inputs}


def test_no_plaintext_outlives_the_run(world: World) -> None:
    run_id = f"r-{uuid.uuid4().hex}"  # other test processes run their own r1 at the same time
    run(world.spec(run_id=run_id), world.producer())
    assert not list(Path(tempfile.gettempdir()).glob(f"depa-{run_id}-*"))
    assert not list(world.root.rglob("*.csv")) and not list(world.root.rglob("*.parquet"))


def test_an_input_whose_digest_does_not_match_fails_the_run_and_says_so(world: World) -> None:
    other = world.inputs[0].model_copy(update={"digest": world.inputs[1].digest})
    spec = world.spec(run_id="r1", inputs=[other, world.inputs[1]])
    with pytest.raises(RunFailed):
        run(spec, world.producer())
    view = world.client().run("r1")
    assert view.status == "failed" and view.start_seq is None


def test_a_tampered_encrypted_file_is_refused_before_any_key_is_asked(world: World) -> None:
    world.inputs[0].file.write_bytes(world.inputs[0].file.read_bytes() + b"\0")
    with pytest.raises(RunFailed, match="not the encrypted file registered"):
        run(world.spec(run_id="r1"), world.producer())
    view = world.client().run("r1")
    assert view.releases == {} and view.reservations == {}  # aborted: nothing was released
    assert "budget.abort" in kinds(world, "r1")


def test_a_pipeline_asking_more_epsilon_than_the_contract_is_refused_before_any_budget_or_key(world: World) -> None:
    # The contract is read with the attested key, so the refusal follows the attestation and is on the record.
    with pytest.raises(RunFailed, match="exceeds the contract's cap"):
        run(world.spec(pipeline_with(epsilon=6.0), run_id="r1"), world.producer())
    assert kinds(world, "r1") == ["attestation.report", "run.complete"]
    assert world.client().run("r1").status == "failed"


def test_a_non_private_pipeline_on_capped_data_is_refused(world: World) -> None:
    doc = copy.deepcopy(PIPELINE)
    doc["pipeline"][1]["config"]["is_private"] = False
    with pytest.raises(RunFailed, match="is_private"):
        run(world.spec(doc, run_id="r1"), world.producer())
    assert kinds(world, "r1") == ["attestation.report", "run.complete"]


def test_a_sample_rate_that_is_not_batch_over_records_fails_the_run(world: World) -> None:
    with pytest.raises(RunFailed, match="Poisson sampling needs them to agree"):  # the message stays in the room
        run(world.spec(pipeline_with(sample_rate=0.08), run_id="r1"), world.producer())
    logged = world.client().run("r1")
    assert (logged.status, logged.reason) == ("failed", "unprocessable")  # the log has a code, not the counts


def test_a_run_past_the_remaining_budget_is_refused_and_gets_no_key(world: World) -> None:
    run(world.spec(run_id="r1"), world.producer())
    run(world.spec(run_id="r2"), world.producer())
    with pytest.raises(RunFailed, match="over the cap"):
        run(world.spec(pipeline_with(epsilon=5.0), run_id="r3"), world.producer())
    assert world.client().run("r3").releases == {}
    assert world.client().run("r3").status == "failed"


def test_a_contract_not_signed_by_all_stops_the_agent(tmp_path: Path, simulator: SimulatedTee) -> None:
    with running(build(tmp_path, simulator, sign_all=False)) as world:
        with pytest.raises(Conflict, match="pending; a run needs an active contract"):
            run(world.spec(run_id="r1"), world.producer())


def attested(
    world: World,
    run_id: str,
    reserve: bool = False,
    nonce: str | None = None,
    evidence=None,
    cid: str | None = None,
    **launched: int,
) -> AgentKeys:
    """A run attested on the world's ledger by keys this test holds, with budget reserved on the bank's data;
    `launched` crafts the report as a host could (policy_bits, version), `evidence` makes other evidence for the
    binding."""
    keys = AgentKeys.generate()
    client = world.client()
    nonce = nonce or nonce_for(client.checkpoint())
    cid = cid or world.cid
    body = attest(keys, cid, run_id, nonce, world.producer(), allow_simulated=True)
    if launched:
        report = world.simulator.report(report_data_for(body.binding), **launched)
        body = body.model_copy(update={"evidence": body.evidence.model_copy(update={"report": b64(report)})})
    if evidence is not None:
        body = body.model_copy(update={"evidence": evidence(body.binding)})
    client.append(s.sign(keys.signer, "attestation.report", body.model_dump(mode="json", exclude_none=True)))
    if reserve:
        segment = {"noise_multiplier": 2.0, "sample_rate": 0.01, "steps": 10}
        reservation = {"run_id": run_id, "contract_id": cid, "dataset": BANK, "delta": 1e-5,
                       "segments": [segment]}  # fmt: skip
        client.append(s.sign(keys.signer, "budget.reserve", reservation))
    return keys


class TestBroker:
    def test_no_key_without_a_reservation(self, world: World) -> None:
        keys = attested(world, "r9")
        with pytest.raises(Conflict, match="reserved no budget"):
            request_key(world.inputs[0].broker, "r9", BANK, keys.signer, str(keys.identity))

    def test_only_the_runs_attested_key_may_ask_for_its_keys(self, world: World) -> None:
        """Asking first used to leave the real agent with 409 'already released' and budget it could not free."""
        keys = attested(world, "r9", reserve=True)
        with pytest.raises(NotAllowed, match="not signed by the receipt key"):
            request_key(world.inputs[0].broker, "r9", BANK, Signer.generate(), "AGE-SECRET-KEY-1")
        assert request_key(world.inputs[0].broker, "r9", BANK, keys.signer, str(keys.identity)).startswith("AGE-")

    def test_the_attested_key_asking_again_gets_the_same_key_and_one_release(self, world: World) -> None:
        keys = attested(world, "r9", reserve=True)
        first = request_key(world.inputs[0].broker, "r9", BANK, keys.signer, str(keys.identity))
        again = request_key(world.inputs[0].broker, "r9", BANK, keys.signer, str(keys.identity))
        assert first == again
        kinds = [s.from_raw(decode(leaf).statement).kind for leaf in world.ledger.leaves(0, 1000)]
        assert kinds.count("key.release") == 1

    def test_a_nonce_naming_no_checkpoint_of_this_log_gets_no_key_even_if_the_ledger_took_it(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A ledger that skipped its nonce check: the broker proves the root against the log itself."""
        monkeypatch.setattr("chain.ledger.rules.runs.check_nonce", lambda *_: None)
        other_log = f"{world.ledger.info().size}:{b64(bytes(32))}"
        keys = attested(world, "r9", reserve=True, nonce=other_log)
        with pytest.raises(AttestationRejected, match="names no checkpoint of this log"):
            request_key(world.inputs[0].broker, "r9", BANK, keys.signer, str(keys.identity))

    def test_a_nonce_superseded_past_the_window_gets_no_key_even_if_the_ledger_took_it(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A ledger that skipped its nonce check: the broker reads when the checkpoint was superseded, proven."""
        monkeypatch.setattr("chain.ledger.rules.runs.check_nonce", lambda *_: None)
        doc = world.contract_doc(nonce_window_s=1)
        stale = nonce_for(world.client().checkpoint())
        world.send("consumer", "contract.propose", {"contract": doc})  # supersedes the nonce's checkpoint
        for name in world.parties:
            world.send(name, "contract.sign", {"contract_id": contract_id(doc)})
        time.sleep(1.5)
        keys = attested(world, "r-stale", reserve=True, nonce=stale, cid=contract_id(doc))
        with pytest.raises(AttestationRejected, match="superseded .* before the attestation; the contract accepts 1 s"):
            request_key(world.inputs[0].broker, "r-stale", BANK, keys.signer, str(keys.identity))

    @pytest.mark.parametrize(
        ("launched", "check"), [({"policy_bits": 1 << 18}, "guest-policy"), ({"version": 6}, "report-format")]
    )
    def test_evidence_the_ledger_should_have_refused_gets_no_key(
        self, world: World, monkeypatch: pytest.MonkeyPatch, launched: dict, check: str
    ) -> None:
        """A ledger that took a migration-agent guest or an unknown report version: the broker re-verifies."""
        from attestation.result import AttestationResult, Claims, passed

        taken = AttestationResult.of("simulated", "insecure-simulated", [passed("lenient", "unchecked")], Claims())
        lenient = lambda *_, **__: taken  # noqa: E731
        monkeypatch.setattr("chain.ledger.rules.runs.verify_attestation", lenient)
        keys = attested(world, "r9", reserve=True, **launched)
        with pytest.raises(AttestationRejected, match=check):
            request_key(world.inputs[0].broker, "r9", BANK, keys.signer, str(keys.identity))

    @pytest.mark.parametrize(
        ("qe", "check"),
        [({"mrsigner": "ab" * 32}, "qe-identity"), ({}, "measurement-pinned")],
        ids=["rogue-qe", "unpinned-image"],
    )
    def test_td_evidence_the_ledger_should_have_refused_gets_no_key(
        self, world: World, monkeypatch: pytest.MonkeyPatch, qe: dict, check: str
    ) -> None:
        """A ledger that took a quote from a host's own QE, or any TD under a contract pinning no image (a test
        PKI stands in for Intel's): the broker re-verifies and refuses."""
        from attestation.result import AttestationResult, Claims, passed

        pki = StandInPki()
        trust(pki, monkeypatch)
        taken = AttestationResult.of("tdx", "hardware", [passed("lenient", "unchecked")], Claims())
        monkeypatch.setattr("chain.ledger.rules.runs.verify_attestation", lambda *_, **__: taken)
        keys = attested(world, "r9", reserve=True, evidence=lambda binding: tdx_evidence(pki, binding, **qe))
        with pytest.raises(AttestationRejected, match=check):
            request_key(world.inputs[0].broker, "r9", BANK, keys.signer, str(keys.identity))

    def test_a_term_the_evidence_cannot_answer_gets_no_key(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        """A contract demanding an up-to-date TCB, a TD quote with no Intel collateral, a ledger that did not check:
        the broker re-verifies under the contract and refuses."""
        from attestation.result import AttestationResult, Claims, passed

        pki = StandInPki()
        trust(pki, monkeypatch)
        taken = AttestationResult.of("tdx", "hardware", [passed("lenient", "unchecked")], Claims())
        monkeypatch.setattr("chain.ledger.rules.runs.verify_attestation", lambda *_, **__: taken)
        doc = world.contract_doc(tcb_status=["UpToDate"], measurements=[sample_mrtd()])
        world.send("consumer", "contract.propose", {"contract": doc})
        for name in world.parties:
            world.send(name, "contract.sign", {"contract_id": contract_id(doc)})
        keys = attested(world, "r-tcb", reserve=True, cid=contract_id(doc), evidence=lambda b: tdx_evidence(pki, b))
        with pytest.raises(AttestationRejected, match="tcb-status"):
            request_key(world.inputs[0].broker, "r-tcb", BANK, keys.signer, str(keys.identity))

    def test_a_broker_releases_only_its_own_datasets(self, world: World) -> None:
        with pytest.raises(Exception, match="holds no key"):
            request_key(world.inputs[0].broker, "r1", BUREAU, Signer.generate(), "AGE-SECRET-KEY-1")

    @pytest.mark.parametrize("run_id", ["nobody", "../contracts/x", "r1/../../v1/log", "r%2F1"])
    def test_an_unknown_run_gets_nothing(self, world: World, run_id: str) -> None:
        """Each id is one path segment to the ledger: `../contracts/x` once made the broker fetch a contract."""
        with pytest.raises(DepaError, match="no attested run|404: Not Found"):
            request_key(world.inputs[0].broker, run_id, BANK, Signer.generate(), "AGE-SECRET-KEY-1")

    @pytest.mark.parametrize(
        "body", [{}, {"run_id": "r1", "dataset": BANK}, {"run_id": "", "dataset": BANK, "sig": ""}]
    )
    def test_a_malformed_request_is_a_problem_document(self, world: World, body: dict) -> None:
        resp = httpx.post(world.inputs[0].broker + "/v1/release", json=body)
        assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"


def test_the_budget_refusal_carries_the_remaining_epsilon(world: World) -> None:
    run(world.spec(run_id="r1"), world.producer())
    run(world.spec(run_id="r2"), world.producer())
    refused = None
    try:
        run(world.spec(pipeline_with(epsilon=5.0), run_id="r3"), world.producer())
    except RunFailed as exc:
        refused = exc.__cause__
    assert isinstance(refused, BudgetExceeded)


def test_plan_finds_the_noise_that_spends_exactly_what_remains(world: World) -> None:
    run(world.spec(run_id="r1"), world.producer())
    key = world.root / "bank.pem"  # a party of the contract reads its budget
    key.write_bytes(world.parties["bank"].pem())
    done = CliRunner().invoke(cli, ["plan", world.cid, "--dataset", BANK, "--sample-rate", "0.04", "--steps", "50",
                                    "--ledger", world.url, "--vkey", world.vkey, "--key", str(key)])  # fmt: skip
    assert done.exit_code == 0, done.output
    sigma = float(done.output.split()[1])
    view = next(d for d in world.client().budget(world.cid).datasets if d.dataset == BANK)
    planned = Segment(noise_multiplier=sigma, sample_rate=0.04, steps=50)
    composed = budget.DatasetBudget(cap=view.cap, delta=view.delta).certified(
        budget.curve([*view.committed_segments, planned])
    )
    assert composed == pytest.approx(view.cap, abs=1e-2) and composed <= view.cap  # sigma printed to 4 places, up
    args = ["plan", world.cid, "--dataset", BANK, "--sample-rate", "0.04", "--steps", "50", "--ledger", world.url,
            "--vkey", world.vkey, "--key", str(key), "--json"]  # fmt: skip
    as_json = CliRunner().invoke(cli, args)
    assert json.loads(as_json.stdout)["noise_multiplier"] == sigma


def test_depa_ccr_run_takes_a_spec_file(world: World) -> None:
    spec = world.spec(run_id="r1", simulator=world.simulator.folder)
    path = world.root / "run.json"
    path.write_text(spec.model_dump_json())
    done = CliRunner().invoke(cli, ["run", str(path)])
    assert done.exit_code == 0, done.output
    assert "run r1 succeeded: 4 outputs" in done.output


@pytest.mark.parametrize(
    ("term", "value"),
    [("metrics", ["accuracy", "hausdorff_distance"]), ("loss_config", {"class": "torch.nn.BCELoss"}),
     ("scheduler", {"name": "ReduceLROnPlateau"})],
)  # fmt: skip
def test_a_pipeline_its_trainer_cannot_honour_is_refused_before_the_clean_room_attests(
    world: World, term: str, value: object
) -> None:
    pipeline = copy.deepcopy(PIPELINE)
    pipeline["pipeline"][1]["config"][term] = value
    with pytest.raises(Unprocessable):
        run(world.spec(pipeline, run_id="r-unhonoured"), world.producer())
    assert "r-unhonoured" not in world.ledger.registry.runs  # nothing attested, reserved or read
