"""Signed reads are RFC 9421 HTTP Message Signatures: the RFC's own Ed25519 vector, and every way to get one wrong."""

from __future__ import annotations

import json

import pytest

from schemas import httpsig
from schemas.encoding import b64, b64url
from schemas.errors import Unauthenticated
from schemas.keys import Signer
from tests.conftest import data_file

NOW = 1_800_000_000
READ = ("GET", "ledger.example:8000", "/v1/contracts/sha256%3Aab", "x=1")


def test_the_signature_base_and_signature_of_rfc_9421_b_2_6():
    vector = json.loads(data_file("rfc9421", "b26.json").read_text())
    key = Signer.load(data_file("rfc9421", "test-key-ed25519.pem"))
    assert b64url(key.public_key) == vector["public_key_x"]
    params = vector["signature_input"].split("=", 1)[1]
    base = httpsig.signature_base([tuple(c) for c in vector["components"]], params)
    assert base.decode().splitlines()[-1] == f'"@signature-params": {params}'
    assert f"sig-b26=:{b64(key.sign(base))}:" == vector["signature"]


def test_a_signed_read_names_its_signer():
    reader = Signer.generate()
    headers = httpsig.sign_read(reader, *READ, created=NOW)
    assert headers["signature-input"].startswith('depa=("@method" "@authority" "@path" "@query");created=')
    assert httpsig.verify_read(*READ, headers, now=NOW + 10) == reader.did


def test_the_authority_and_method_are_compared_as_rfc_9421_normalises_them():
    reader = Signer.generate()
    headers = httpsig.sign_read(reader, "get", "Ledger.Example:8000", *READ[2:], created=NOW)
    assert httpsig.verify_read(*READ, headers, now=NOW) == reader.did


def _forged(**change: str) -> dict[str, str]:
    headers = httpsig.sign_read(Signer.generate(), *READ, created=NOW)
    return {**headers, **change}


@pytest.mark.parametrize(
    ("request_line", "headers", "says"),
    [
        (READ, {}, "not signed"),
        (READ, {"signature-input": 'depa=("@method");created=1'}, "not signed"),
        (("GET", READ[1], "/v1/contracts/other", READ[3]), None, "does not verify"),
        (("GET", READ[1], READ[2], "x=2"), None, "does not verify"),
        (("GET", "evil.example", READ[2], READ[3]), None, "does not verify"),
        (("HEAD", *READ[1:]), None, "does not verify"),
        (READ, _forged(signature="other=:AAAA:"), "same label"),
        (READ, _forged(signature="depa=:AAAA:"), "does not verify"),
        (READ, _forged(signature="depa=:not base64!:"), "same label"),
        (
            READ,
            _forged(**{"signature-input": 'depa=("@method" "@path");created=1800000000;keyid="did:key:z"'}),
            "covers",
        ),
        (
            READ,
            _forged(**{"signature-input": 'depa=("@method" "@authority" "@path" "@query");keyid="did:key:z"'}),
            "created",
        ),
        (
            READ,
            _forged(
                **{"signature-input": 'depa=("@method" "@authority" "@path" "@query");created=1800000000;keyid="x"'}
            ),
            "cannot be checked",
        ),
        (
            READ,
            _forged(**{"signature-input": 'depa=("@method" "@authority" "@path" "@query") ;created=1'}),
            "same label",
        ),
    ],
)
def test_a_read_that_is_unsigned_altered_or_malformed_is_unauthenticated(request_line, headers, says):
    if headers is None:  # signed for READ, sent as another request
        headers = httpsig.sign_read(Signer.generate(), *READ, created=NOW)
    with pytest.raises(Unauthenticated, match=says):
        httpsig.verify_read(*request_line, headers, now=NOW)


def test_a_signature_from_another_time_is_refused():
    headers = httpsig.sign_read(Signer.generate(), *READ, created=NOW)
    httpsig.verify_read(*READ, headers, now=NOW + httpsig.MAX_SKEW_S)
    for now in (NOW + httpsig.MAX_SKEW_S + 1, NOW - httpsig.MAX_SKEW_S - 1):
        with pytest.raises(Unauthenticated, match="created"):
            httpsig.verify_read(*READ, headers, now=now)


def test_a_signature_by_one_key_claiming_another_fails():
    signer, claimed = Signer.generate(), Signer.generate()
    headers = httpsig.sign_read(signer, *READ, created=NOW)
    headers["signature-input"] = headers["signature-input"].replace(signer.did, claimed.did)
    with pytest.raises(Unauthenticated, match=f"does not verify under {claimed.did}"):
        httpsig.verify_read(*READ, headers, now=NOW)
