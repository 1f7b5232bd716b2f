import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas import statement as s
from schemas.canonical import canonical, parse_json, sha256_digest
from schemas.errors import BadSignature, MalformedInput, SchemaViolation, TooLarge
from schemas.keys import Signer
from tests.conftest import age_recipient


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()


def party_body(signer: Signer) -> dict:
    return {"did": signer.did, "name": "bank", "roles": ["TDP"], "x25519": age_recipient()}


def wire(raw: dict) -> bytes:
    return json.dumps(raw).encode()


def test_a_signed_statement_parses_and_verifies(signer):
    st = s.parse(wire(s.sign(signer, "party.register", party_body(signer))))
    st.verify()
    assert st.kind == "party.register" and st.iss == signer.did


def test_statement_id_is_sha256_of_the_canonical_bytes_without_sig(signer):
    raw = s.sign(signer, "party.register", party_body(signer))
    unsigned = {k: v for k, v in raw.items() if k != "sig"}
    assert s.parse(wire(raw)).id == sha256_digest(canonical(unsigned))


def test_signature_covers_the_body(signer):
    raw = s.sign(signer, "party.register", party_body(signer))
    raw["body"]["name"] = "mallory"
    with pytest.raises(BadSignature):
        s.parse(wire(raw)).verify()


def test_signature_by_another_key_fails(signer):
    raw = s.sign(Signer.generate(), "party.register", party_body(signer))
    raw["iss"] = signer.did
    with pytest.raises(BadSignature):
        s.parse(wire(raw)).verify()


def test_unknown_type_is_a_schema_violation(signer):
    raw = s.sign(signer, "party.register", party_body(signer))
    raw["typ"] = "depa/party.party@1"
    with pytest.raises(SchemaViolation, match="typ"):
        s.parse(wire(raw))


def test_extra_envelope_field_is_refused(signer):
    raw = {**s.sign(signer, "party.register", party_body(signer)), "extra": 1}
    with pytest.raises(SchemaViolation):
        s.parse(wire(raw))


def test_extra_body_field_is_refused(signer):
    raw = s.sign(signer, "party.register", {**party_body(signer), "admin": True})
    with pytest.raises(SchemaViolation, match="body.admin"):
        s.parse(wire(raw))


def test_statement_over_64_kib_is_too_large(signer):
    raw = s.sign(signer, "party.register", {**party_body(signer), "name": "x" * 70_000})
    with pytest.raises(TooLarge):
        s.parse(wire(raw))


def test_duplicate_json_keys_are_malformed():
    with pytest.raises(MalformedInput, match="duplicate"):
        parse_json(b'{"a": 1, "a": 2}')


def test_nan_is_not_json():
    with pytest.raises(MalformedInput):
        parse_json(b'{"a": NaN}')


def test_missing_iat_timezone_is_refused(signer):
    raw = s.sign(signer, "party.register", party_body(signer), iat="2026-11-25T14:00:00")
    with pytest.raises(SchemaViolation, match="iat"):
        s.parse(wire(raw))


def test_every_type_has_a_body_model():
    assert set(s.KINDS.values()) == {
        "party.register",
        "party.rotate",
        "party.revoke",
        "contract.propose",
        "contract.sign",
        "contract.revoke",
        "artefact.register",
        "dataset.cap",
        "attestation.report",
        "run.start",
        "run.complete",
        "budget.reserve",
        "budget.commit",
        "budget.abort",
        "key.release",
    }


SAFE = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)


@given(st.dictionaries(st.text(max_size=8), SAFE | st.text(max_size=8) | st.booleans(), max_size=6))
def test_canonical_bytes_round_trip_through_json(value):
    assert canonical(parse_json(canonical(value))) == canonical(value)


@given(name=st.text(min_size=1, max_size=50), size=st.integers(min_value=0, max_value=2**53 - 1))
def test_artefact_body_round_trips_through_json_and_canonical_bytes(name, size):
    body = s.ArtefactRegister(digest="sha256:" + "ab" * 32, name=name, kind="dataset", size=size)
    dumped = body.model_dump(mode="json", exclude_none=True)
    assert s.ArtefactRegister.model_validate(parse_json(canonical(dumped))) == body


def test_integers_beyond_the_json_safe_range_have_no_canonical_form():
    with pytest.raises(MalformedInput, match="safe integer"):
        canonical({"n": 2**53})


@given(name=st.text(min_size=1, max_size=40), alias=st.text(max_size=20))
def test_a_statements_canonical_bytes_are_those_of_its_json(name, alias):
    signer = Signer.generate()
    raw = s.sign(signer, "party.register", {**party_body(signer), "name": name, "aliases": [alias]})
    assert s.from_raw(raw).canonical() == canonical(raw)


def test_a_padded_base64url_signature_verifies_with_the_same_id(signer):
    raw = s.sign(signer, "party.register", party_body(signer))
    padded = {**raw, "sig": raw["sig"] + "=="}
    st = s.parse(wire(padded))
    st.verify()
    assert st.id == s.parse(wire(raw)).id


def test_a_signature_in_standard_base64_is_a_schema_violation(signer):
    raw = s.sign(signer, "party.register", party_body(signer))
    with pytest.raises(SchemaViolation, match="sig"):
        s.parse(wire({**raw, "sig": raw["sig"].replace("_", "/").replace("-", "+") + "/"}))
