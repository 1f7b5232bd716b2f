"""The served ledger keeps serving: no statement stops its sequencer, bad inputs are refused early with a
problem document, internals never reach a caller, and readiness says when appends cannot be served."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from chain.client import SignedReads
from chain.ledger.home import Settings
from chain.ledger.ledger import Ledger
from chain.ledger.sequencer import Sequencer
from chain.ledger.service import create_app
from chain.ledger.store import MemoryStore
from schemas import statement as s
from schemas.canonical import MAX_DEPTH
from schemas.keys import Signer
from tests.conftest import ORIGIN, age_recipient
from tests.world import serving, serving_home
from webconsole.app import mount


@pytest.fixture
def ledger(operator: Signer, checkpoint_key: Signer) -> Ledger:
    return Ledger(MemoryStore(), ORIGIN, checkpoint_key, operator.did)


@pytest.fixture
def api(ledger: Ledger, operator: Signer):
    app = create_app(ledger)
    mount(app, ledger)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.auth = SignedReads(operator)
        yield client


def registration(operator: Signer, name: str | None = None) -> dict:
    did = Signer.generate().did
    body = {"did": did, "name": name or f"party-{did[-8:]}", "roles": ["TDP"], "x25519": age_recipient()}
    return s.sign(operator, "party.register", body)


def post(api: TestClient, raw: dict | bytes, content_type: str = "application/json"):
    content = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    return api.post("/v1/statements", content=content, headers={"content-type": content_type})


def is_problem(resp, status: int) -> bool:
    return resp.status_code == status and resp.headers["content-type"] == "application/problem+json"


def test_a_statement_that_breaks_admission_is_refused_alone_and_the_next_is_logged(
    api: TestClient, operator: Signer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    original = Ledger.integrate
    calls = []

    def breaks_once(self, batch):  # type: ignore[no-untyped-def]
        calls.append(len(batch))
        if len(calls) == 1:
            raise IndexError("list index out of range")
        return original(self, batch)

    monkeypatch.setattr(Ledger, "integrate", breaks_once)
    with caplog.at_level(logging.ERROR):
        first = post(api, registration(operator))
    assert is_problem(first, 503) and "IndexError" not in first.text
    assert "IndexError" in caplog.text
    assert post(api, registration(operator, "bureau")).status_code == 201
    assert api.get("/v1/ready").json()["ready"] is True


def test_a_sequencer_that_stops_is_started_again_and_no_request_hangs(
    api: TestClient, operator: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Stop(BaseException):
        """Not an Exception: nothing inside the task catches it, so the task itself ends."""

    original = Sequencer._integrate
    calls = []

    async def dies_once(self, batch):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise Stop
        return await original(self, batch)

    monkeypatch.setattr(Sequencer, "_integrate", dies_once)
    assert is_problem(post(api, registration(operator)), 503)
    assert post(api, registration(operator, "bureau")).status_code == 201
    assert api.get("/v1/ready").json()["sequencer_restarts"] == 1


def test_readiness_is_503_while_the_log_cannot_be_read_back(api: TestClient, ledger: Ledger) -> None:
    assert api.get("/v1/ready").status_code == 200
    ledger.failure = "OperationalError: could not connect to server at 10.0.0.5"
    resp = api.get("/v1/ready")
    assert is_problem(resp, 503) and "10.0.0.5" not in resp.text


def test_a_failed_write_answers_503_without_the_databases_words(
    api: TestClient, ledger: Ledger, operator: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(batch: object) -> None:
        raise OSError('(psycopg.OperationalError) relation "log_entry" is read-only [SQL: INSERT INTO log_entry]')

    monkeypatch.setattr(ledger.store, "append", refuse)
    resp = post(api, registration(operator))
    assert is_problem(resp, 503)
    assert "SQL" not in resp.text and "psycopg" not in resp.text and "log_entry" not in resp.text


def test_a_read_that_fails_inside_answers_503_without_internals(
    api: TestClient, ledger: Ledger, operator: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert post(api, registration(operator)).status_code == 201

    def broken(*args: object) -> None:
        raise OSError("[SQL: SELECT leaf FROM log_entry]")

    monkeypatch.setattr(ledger.store, "leaves", broken)
    resp = api.get("/v1/entries/0")
    assert is_problem(resp, 503) and "SQL" not in resp.text


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "", "application/json; charset=utf-16"]
)
def test_a_statement_in_another_media_type_is_415(api: TestClient, operator: Signer, content_type: str) -> None:
    assert is_problem(post(api, registration(operator), content_type), 415)


@pytest.mark.parametrize("charset", ["", "; charset=utf-8", "; charset=UTF-8"])
def test_json_in_utf8_is_taken(api: TestClient, operator: Signer, charset: str) -> None:
    assert post(api, registration(operator), "application/json" + charset).status_code == 201


@pytest.mark.parametrize("encode", [lambda t: "\ufeff".encode() + t.encode(), lambda t: t.encode("utf-16")])
def test_json_with_a_bom_or_in_utf16_is_refused(api: TestClient, operator: Signer, encode) -> None:
    resp = post(api, encode(json.dumps(registration(operator))))
    assert is_problem(resp, 400) and api.get("/v1/log").json()["size"] == 0


def test_a_statement_nested_past_the_limit_is_refused_before_it_is_logged(api: TestClient, operator: Signer) -> None:
    raw = registration(operator)
    deep: object = "x"
    for _ in range(300):
        deep = {"k": deep}
    raw["body"]["aliases"] = [deep]
    resp = post(api, raw)
    assert is_problem(resp, 400) and f"{MAX_DEPTH} levels" in resp.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/entries/9223372036854775808",
        "/v1/entries/9223372036854775808/receipt",
        "/v1/entries/-1",
        "/console/api/entries/9223372036854775808",
    ],
)
def test_an_entry_past_any_database_integer_is_404(api: TestClient, operator: Signer, path: str) -> None:
    assert post(api, registration(operator)).status_code == 201
    assert is_problem(api.get(path), 404)


def test_a_page_past_any_database_integer_is_empty(api: TestClient, operator: Signer) -> None:
    assert post(api, registration(operator)).status_code == 201
    resp = api.get("/v1/entries", params={"start": 2**63})
    assert resp.status_code == 200 and resp.json() == []


def test_a_half_sent_body_is_refused_in_seconds_and_the_ledger_still_serves(ledger: Ledger, operator: Signer) -> None:
    with serving(create_app(ledger, Settings(body_timeout=0.5))) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as slow:
            slow.sendall(b"POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
            answer = slow.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408") and b"problem+json" in answer
        resp = httpx.post(url + "/v1/statements", json=registration(operator))
        assert resp.status_code == 201


def test_a_client_that_sends_no_headers_in_time_is_closed_and_others_are_served(tmp_path) -> None:
    """`depa-chain serve` as installed, DEPA_HEADER_TIMEOUT=0.5: silence, a trickled request line and a slow
    second request on a kept-alive connection each get 408 and a closed socket; a prompt client is served."""

    def answer(sock: socket.socket) -> bytes:
        sock.settimeout(10)
        got = b""
        while chunk := sock.recv(4096):
            got += chunk
        return got  # the server closed the connection

    with serving_home(tmp_path, DEPA_HEADER_TIMEOUT="0.5") as port:
        with socket.create_connection(("127.0.0.1", port)) as silent:
            assert answer(silent).startswith(b"HTTP/1.1 408")
        with socket.create_connection(("127.0.0.1", port)) as trickle:
            trickle.sendall(b"GET /v1/log HTTP/1.1\r\nHost: x\r\n")
            assert answer(trickle).startswith(b"HTTP/1.1 408")
        with socket.create_connection(("127.0.0.1", port)) as kept:
            kept.sendall(b"GET /v1/log HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)
            assert kept.recv(4096).startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET /v1/log HTTP/1.1\r\n")
            assert answer(kept).startswith(b"HTTP/1.1 408")
        assert httpx.get(f"http://127.0.0.1:{port}/v1/log", timeout=10).status_code == 200


def test_served_connections_are_capped_so_idle_clients_cannot_use_up_the_server(tmp_path) -> None:
    """`depa-chain serve` as installed, DEPA_MAX_CONNECTIONS=3: three idle sockets, then a request is 503."""
    with serving_home(tmp_path, DEPA_MAX_CONNECTIONS="3") as port:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/log", timeout=10).status_code == 503
        for s_ in idle:
            s_.close()
        time.sleep(0.3)
        assert httpx.get(f"http://127.0.0.1:{port}/v1/log", timeout=10).status_code == 200
