"""The registration policy of docs/design.md, flows, through the ledger's append path."""

from datetime import UTC, datetime, timedelta

import pytest

from chain.ledger.ledger import Ledger
from chain.ledger.rules import RULES
from schemas import statement as s
from schemas.contract import contract_id
from schemas.errors import BadSignature, Conflict, NotAllowed, NotFound, Unprocessable
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient, register

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def test_the_operator_registers_a_party(ledger, operator):
    party = register(ledger, operator, "bank", "TDP")
    assert [p.did for p in ledger.parties()] == [party.did]


def test_a_party_cannot_register_another(collab):
    body = {"did": Signer.generate().did, "name": "x", "roles": ["TDP"], "x25519": age_recipient()}
    with pytest.raises(NotAllowed, match="operator"):
        collab.send(collab.tdc.key, "party.register", body)


def test_registering_a_did_twice_is_a_conflict(collab):
    body = {"did": collab.tdp.did, "name": "again", "roles": ["TDP"], "x25519": age_recipient()}
    with pytest.raises(Conflict):
        collab.send(collab.operator, "party.register", body)


def test_replaying_a_statement_returns_the_same_receipt(ledger, operator):
    raw = s.sign(
        operator,
        "party.register",
        {"did": Signer.generate().did, "name": "a", "roles": ["TDC"], "x25519": age_recipient()},
    )
    first, new1 = ledger.append(s.from_raw(raw))
    again, new2 = ledger.append(s.from_raw(raw))
    assert (new1, new2) == (True, False)
    assert again.seq == first.seq and again.leaf == first.leaf


def test_a_statement_with_a_bad_signature_is_refused_and_not_logged(ledger, operator):
    raw = s.sign(
        operator,
        "party.register",
        {"did": Signer.generate().did, "name": "a", "roles": ["TDC"], "x25519": age_recipient()},
    )
    raw["body"]["name"] = "b"
    with pytest.raises(BadSignature):
        ledger.append(s.from_raw(raw))
    assert ledger.info().size == 0


def test_a_contract_becomes_active_when_every_named_party_signs(collab):
    cid = collab.propose()
    assert collab.ledger.contract(cid).state == "pending"
    collab.send(collab.tdc.key, "contract.sign", {"contract_id": cid})
    collab.send(collab.tdp.key, "contract.sign", {"contract_id": cid})
    view = collab.ledger.contract(cid)
    assert view.state == "pending" and view.unsigned == [collab.ccrp.did]
    collab.send(collab.ccrp.key, "contract.sign", {"contract_id": cid})
    view = collab.ledger.contract(cid)
    assert view.state == "active" and view.activated_at is not None and not view.unsigned


def test_a_contract_before_its_start_time_stays_pending(collab):
    start = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cid = collab.propose(startTime=start)
    collab.sign_all(cid)
    assert collab.ledger.contract(cid).state == "pending"


def test_a_revoked_contract_is_closed_and_takes_no_more_signatures(collab):
    cid = collab.propose()
    collab.send(collab.tdp.key, "contract.revoke", {"contract_id": cid, "reason": "withdrawn"})
    assert collab.ledger.contract(cid).state == "closed"
    with pytest.raises(Conflict, match="closed"):
        collab.send(collab.tdc.key, "contract.sign", {"contract_id": cid})


def test_signing_twice_is_a_conflict(collab):
    cid = collab.propose()
    collab.send(collab.tdc.key, "contract.sign", {"contract_id": cid})
    later = s.sign(collab.tdc.key, "contract.sign", {"contract_id": cid}, iat="2099-01-01T00:00:00Z")
    with pytest.raises(Conflict, match="already signed"):
        collab.ledger.append(s.from_raw(later))


def test_a_party_not_named_cannot_sign(collab):
    outsider = register(collab.ledger, collab.operator, "other", "TDP")
    cid = collab.propose()
    with pytest.raises(NotAllowed, match="not named"):
        collab.send(outsider.key, "contract.sign", {"contract_id": cid})


def test_signing_an_unknown_contract_is_not_found(collab):
    with pytest.raises(NotFound):
        collab.send(collab.tdc.key, "contract.sign", {"contract_id": DIGEST_A})


def test_a_contract_naming_an_unregistered_party_says_which(collab):
    from tests.conftest import contract_doc

    doc = contract_doc(collab.tdc, [collab.tdp], collab.ccrp)
    doc["tdps"].append("did:web:unknown.example")
    with pytest.raises(Unprocessable, match="did:web:unknown.example is not a registered party"):
        collab.send(collab.tdc.key, "contract.propose", {"contract": doc})


def test_a_party_named_in_the_wrong_role_is_refused(collab):
    from tests.conftest import contract_doc

    doc = contract_doc(collab.tdc, [collab.tdp], collab.ccrp)
    doc["tdc"] = collab.tdp.did
    with pytest.raises(Unprocessable, match="lacks that role"):
        collab.send(collab.tdp.key, "contract.propose", {"contract": doc})


def test_parties_are_matched_by_alias(ledger, operator):
    from tests.conftest import Collab, contract_doc

    c = Collab(
        ledger,
        operator,
        register(ledger, operator, "tdc", "TDC", aliases=["did:web:tdc.example"]),
        register(ledger, operator, "tdp", "TDP"),
        register(ledger, operator, "ccrp", "CCRP"),
    )
    doc = contract_doc(c.tdc, [c.tdp], c.ccrp)
    doc["tdc"] = "did:web:tdc.example"
    c.send(c.tdc.key, "contract.propose", {"contract": doc})
    cid = contract_id(doc)
    c.sign_all(cid)
    assert ledger.contract(cid).state == "active"


def test_a_rotated_key_can_no_longer_sign_but_the_new_one_can(collab):
    cid = collab.propose()
    new = Signer.generate()
    collab.send(collab.operator, "party.rotate", {"did": collab.tdp.did, "new_did": new.did})
    with pytest.raises(NotAllowed, match="rotated"):
        collab.send(collab.tdp.key, "contract.sign", {"contract_id": cid})
    collab.send(new, "contract.sign", {"contract_id": cid})
    assert collab.tdp.did in [sig.party for sig in collab.ledger.contract(cid).signatures]


def test_a_revoked_party_cannot_sign(collab):
    cid = collab.propose()
    collab.send(collab.operator, "party.revoke", {"did": collab.tdp.did, "reason": "left"})
    with pytest.raises(NotAllowed, match="revoked"):
        collab.send(collab.tdp.key, "contract.sign", {"contract_id": cid})


def test_artefacts_record_lineage_both_ways(collab):
    collab.send(collab.tdp.key, "artefact.register", {"digest": DIGEST_A, "name": "raw.csv", "kind": "dataset"})
    collab.send(
        collab.tdp.key,
        "artefact.register",
        {"digest": DIGEST_B, "name": "clean.csv", "kind": "dataset", "derived_from": [DIGEST_A]},
    )
    down = collab.ledger.lineage(DIGEST_A, "down")
    assert [(e.parent, e.child) for e in down.edges] == [(DIGEST_A, DIGEST_B)]
    up = collab.ledger.lineage(DIGEST_B, "up")
    assert {a.digest for a in up.artefacts} == {DIGEST_A, DIGEST_B}
    assert collab.ledger.lineage(DIGEST_A, "up").edges == []


def test_an_artefact_derived_from_an_unknown_parent_is_refused(collab):
    with pytest.raises(Unprocessable, match="unregistered"):
        collab.send(
            collab.tdp.key,
            "artefact.register",
            {"digest": DIGEST_B, "name": "x", "kind": "model", "derived_from": [DIGEST_A]},
        )


def test_an_unregistered_key_cannot_register_artefacts(collab):
    with pytest.raises(NotAllowed, match="a registered party"):
        collab.send(Signer.generate(), "artefact.register", {"digest": DIGEST_A, "name": "x", "kind": "dataset"})


def test_registering_a_digest_twice_is_a_conflict(collab):
    collab.send(collab.tdp.key, "artefact.register", {"digest": DIGEST_A, "name": "x", "kind": "dataset"})
    with pytest.raises(Conflict, match="already registered"):
        collab.send(collab.tdc.key, "artefact.register", {"digest": DIGEST_A, "name": "y", "kind": "dataset"})


@pytest.mark.parametrize("kind", ["run.start", "budget.reserve", "key.release"])
def test_clean_room_statements_need_an_attested_run(collab, kind):
    bodies = {
        "run.start": {
            "run_id": "r",
            "contract_id": DIGEST_A,
            "attestation": DIGEST_A,
            "inputs": [],
            "pipeline_digest": DIGEST_A,
        },
        "budget.reserve": {
            "run_id": "r",
            "contract_id": DIGEST_A,
            "dataset": "d",
            "delta": 1e-5,
            "segments": [{"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 10}],
        },
        "key.release": {"run_id": "r", "contract_id": DIGEST_A, "dataset": "d", "recipient": collab.tdc.x25519},
    }
    with pytest.raises(NotFound, match="no attested run r"):
        collab.send(collab.ccrp.key, kind, bodies[kind])


def test_a_refused_statement_in_a_batch_does_not_stop_the_others(ledger, operator):
    good = s.sign(
        operator,
        "party.register",
        {"did": Signer.generate().did, "name": "a", "roles": ["TDC"], "x25519": age_recipient()},
    )
    bad = s.sign(
        Signer.generate(),
        "party.register",
        {"did": Signer.generate().did, "name": "b", "roles": ["TDC"], "x25519": age_recipient()},
    )
    outcomes = ledger.integrate([s.from_raw(good), s.from_raw(bad), s.from_raw(good)])
    assert isinstance(outcomes[1][0], NotAllowed)
    assert outcomes[0][0].seq == outcomes[2][0].seq == 0 and (outcomes[0][1], outcomes[2][1]) == (True, False)
    assert ledger.info().size == 1


def test_the_registry_is_rebuilt_from_the_log(collab):
    cid = collab.propose()
    collab.sign_all(cid)
    again = Ledger(collab.ledger.store, ORIGIN, collab.ledger._signer, collab.operator.did)
    assert again.contract(cid).state == "active"
    assert [p.did for p in again.parties()] == [p.did for p in collab.ledger.parties()]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("contract.sign", {"contract_id": DIGEST_A}),
        ("artefact.register", {"digest": DIGEST_A, "name": "x.csv", "kind": "dataset", "derived_from": [DIGEST_B]}),
        ("run.complete", {"run_id": "run-1", "status": "failed"}),
        ("budget.abort", {"run_id": "run-1", "contract_id": DIGEST_A, "dataset": "ds-0"}),
    ],
)
def test_a_strangers_statement_is_refused_before_its_body_is_read(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, kind: str, body: dict
) -> None:
    def unread(*args: object) -> None:
        raise AssertionError("the body of a stranger's statement was read")

    monkeypatch.setitem(RULES, kind, (unread, RULES[kind][1]))
    with pytest.raises(NotAllowed, match="not the operator, a registered party or an attested run's key"):
        ledger.append(s.from_raw(s.sign(Signer.generate(), kind, body)))


@pytest.mark.parametrize(
    "clash",
    [
        lambda c: {"name": "bank"},  # another party's name
        lambda c: {"aliases": [c.tdp.did]},  # another party's DID as an alias
        lambda c: {"aliases": ["bank"]},  # another party's name as an alias
        lambda c: {"aliases": [c.ledger.operator]},  # the operator's DID
        lambda c: {"did": c.ledger.operator},  # the operator's identity itself
    ],
)
def test_names_aliases_and_dids_name_one_party_only(collab, clash):
    body = {"did": Signer.generate().did, "name": "newcomer", "roles": ["TDP"], "x25519": age_recipient()}
    with pytest.raises((Conflict, NotAllowed)):
        collab.send(collab.operator, "party.register", {**body, **clash(collab)})


def test_a_party_cannot_rotate_to_the_operators_did(collab):
    with pytest.raises(Conflict, match="the operator"):
        collab.send(collab.tdp.key, "party.rotate", {"did": collab.tdp.did, "new_did": collab.ledger.operator})


def test_a_registered_alias_cannot_be_taken_as_a_did(collab):
    alias = Signer.generate().did
    body = {"did": Signer.generate().did, "name": "bureau", "roles": ["TDP"], "x25519": age_recipient()}
    collab.send(collab.operator, "party.register", {**body, "aliases": [alias]})
    again = {"did": alias, "name": "copycat", "roles": ["TDP"], "x25519": age_recipient()}
    with pytest.raises(Conflict, match="already names bureau"):
        collab.send(collab.operator, "party.register", again)
