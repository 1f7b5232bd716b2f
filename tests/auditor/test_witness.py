"""Witnesses cosign only consistent checkpoints; the ledger keeps and serves their cosignatures; clients count them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.witness import witness, witness_vkey
from chain.client import LedgerClient
from chain.ledger.home import Settings
from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from chain.ledger.store import MemoryStore
from chain.tlog.checkpoint import verify_cosignature
from schemas import statement as s
from schemas.errors import ForkError, NotAllowed, VerificationError
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient
from tests.world import serving

WITNESS = Signer.generate()
WITNESS_VKEY = witness_vkey("witness.test", WITNESS)


def grow(ledger: Ledger, operator: Signer, n: int = 1) -> None:
    for _ in range(n):
        did = Signer.generate().did
        body = {"did": did, "name": f"p-{did[-8:]}", "roles": ["TDP"], "x25519": age_recipient()}
        ledger.append(s.from_raw(s.sign(operator, "party.register", body)))


@pytest.fixture
def served():
    operator, key = Signer.generate(), Signer.generate()
    ledger = Ledger(MemoryStore(), ORIGIN, key, operator.did)
    grow(ledger, operator, 3)
    with serving(create_app(ledger, Settings(witnesses=[str(WITNESS_VKEY)]))) as url:
        yield url, ledger, operator, key


def test_a_witness_cosigns_and_the_ledger_serves_it(served, tmp_path: Path) -> None:
    url, ledger, _, _ = served
    done = witness(url, ledger.vkey, WITNESS, "witness.test", tmp_path)
    assert done.size == 3 and done.previous is None
    client = LedgerClient(url, ledger.vkey)
    client.checkpoint()
    assert verify_cosignature(client.last or "", WITNESS_VKEY)  # GET /v1/checkpoint carries the cosignature


def test_a_second_cosignature_follows_a_consistency_proof(served, tmp_path: Path) -> None:
    url, ledger, operator, _ = served
    witness(url, ledger.vkey, WITNESS, "witness.test", tmp_path)
    grow(ledger, operator, 4)
    done = witness(url, ledger.vkey, WITNESS, "witness.test", tmp_path)
    assert (done.size, done.previous) == (7, 3)


def test_clients_can_require_k_of_n_witnesses(served, tmp_path: Path) -> None:
    url, ledger, operator, _ = served
    witness(url, ledger.vkey, WITNESS, "witness.test", tmp_path)
    grow(ledger, operator)  # the newest checkpoint is not cosigned yet; the witnessed one still is
    client = LedgerClient(url, ledger.vkey)
    assert client.witnessed_checkpoint([WITNESS_VKEY], 1).size == 3
    other = witness_vkey("other.test", Signer.generate())
    with pytest.raises(VerificationError, match="2 are required"):
        client.witnessed_checkpoint([WITNESS_VKEY, other], 2)


def test_a_witness_the_ledger_does_not_know_is_refused(served, tmp_path: Path) -> None:
    url, ledger, _, _ = served
    with pytest.raises(NotAllowed, match="not a witness this ledger accepts"):
        witness(url, ledger.vkey, Signer.generate(), "stranger.test", tmp_path)


def test_a_forked_ledger_gets_no_cosignature(served, tmp_path: Path) -> None:
    url, ledger, operator, key = served
    witness(url, ledger.vkey, WITNESS, "witness.test", tmp_path)
    other = Ledger(MemoryStore(), ORIGIN, key, operator.did)  # the same key, another history
    grow(other, operator, 5)
    with serving(create_app(other, Settings(witnesses=[str(WITNESS_VKEY)]))) as fork_url:
        with pytest.raises(ForkError, match="not consistent"):
            witness(fork_url, other.vkey, WITNESS, "witness.test", tmp_path)
        key_file = tmp_path / "witness.pem"
        key_file.write_bytes(WITNESS.pem())
        done = CliRunner().invoke(
            app,
            [
                "witness",
                "--ledger",
                fork_url,
                "--vkey",
                str(other.vkey),
                "--key",
                str(key_file),
                "--name",
                "witness.test",
                "--state",
                str(tmp_path),
            ],
        )
        assert done.exit_code == 3


def test_cosignatures_survive_a_restart(served, tmp_path: Path) -> None:
    url, ledger, operator, key = served
    witness(url, ledger.vkey, WITNESS, "witness.test", tmp_path)
    reopened = Ledger(ledger.store, ORIGIN, key, operator.did)
    assert verify_cosignature(reopened.witnessed(), WITNESS_VKEY)


def test_the_ledgers_own_bare_checkpoint_is_no_cosignature(served) -> None:
    url, ledger, _, _ = served

    resp = httpx.post(f"{url}/v1/checkpoint/cosignatures", content=ledger.checkpoint())
    assert resp.status_code == 422 and "no witness's cosignature" in resp.json()["detail"]
    assert httpx.get(f"{url}/v1/checkpoint/witnessed").status_code == 404


def test_the_witnessed_checkpoint_outlives_a_restart(served, tmp_path: Path) -> None:
    url, ledger, operator, key = served
    witness(url, ledger.vkey, WITNESS, "witness.test", tmp_path)
    grow(ledger, operator, 2)  # the newest checkpoint is not cosigned; the witnessed one is older
    restarted = Ledger(ledger.store, ORIGIN, key, operator.did)
    assert restarted.witnessed() == ledger.witnessed()
    assert verify_cosignature(restarted.witnessed(), WITNESS_VKEY)


def test_the_witness_command_speaks_json_to_scripts(served, tmp_path: Path) -> None:
    url, ledger, operator, _ = served
    key_file = tmp_path / "witness.pem"
    key_file.write_bytes(WITNESS.pem())
    args = ["witness", "--ledger", url, "--vkey", str(ledger.vkey), "--key", str(key_file), "--name", "witness.test",
            "--state", str(tmp_path / "state"), "--json"]  # fmt: skip
    first = CliRunner().invoke(app, args)
    grow(ledger, operator)
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, (again.output, again.exception)
    second = json.loads(again.stdout)
    assert json.loads(first.stdout)["previous"] is None and second["previous"] == json.loads(first.stdout)["size"]
    assert second["witness"] == str(WITNESS_VKEY)
