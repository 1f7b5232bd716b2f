"""Fifty concurrent reservations against one dataset never admit more than the cap, on every backend."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from ccr_agent.simulated import SimulatedTee
from chain.client import SignedReads
from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from chain.ledger.sqlstore import SqlStore
from privacy import budget
from schemas import statement as s
from schemas.keys import Signer
from schemas.statement import Segment
from tests.clean_room import room
from tests.conftest import ORIGIN, Collab, register

RUNS = 50
SEGMENT = {"noise_multiplier": 1.0, "sample_rate": 0.01, "steps": 1000}


def fitting(cap: float, delta: float) -> int:
    """How many of these reservations the cap holds, composed."""
    n = 0
    while budget.epsilon(budget.curve([Segment(**SEGMENT)] * (n + 1)), delta) <= cap:
        n += 1
    return n


def test_concurrent_reservations_never_pass_the_cap(
    database_url: str, operator: Signer, checkpoint_key: Signer, simulator: SimulatedTee
) -> None:
    ledger = Ledger(SqlStore(database_url), ORIGIN, checkpoint_key, operator.did)
    parties = [register(ledger, operator, name, role) for name, role in [("c", "TDC"), ("b", "TDP"), ("o", "CCRP")]]
    r = room(Collab(ledger, operator, *parties), simulator)
    for i in range(RUNS):
        r.attest(f"run-{i}")
    requests = [
        s.sign(r.agents[f"run-{i}"].signer, "budget.reserve",
               {"run_id": f"run-{i}", "contract_id": r.cid, "dataset": r.dataset, "delta": 1e-5, "segments": [SEGMENT]})
        for i in range(RUNS)
    ]  # fmt: skip
    with TestClient(create_app(ledger)) as api:
        api.auth = SignedReads(operator)

        def post(raw: dict) -> int:
            body = json.dumps(raw)
            return api.post("/v1/statements", content=body, headers={"content-type": "application/json"}).status_code

        with ThreadPoolExecutor(RUNS) as pool:
            codes = list(pool.map(post, requests))
        view = api.get(f"/v1/contracts/{r.cid}/budget").json()["datasets"][0]
    ledger.store.close()
    expected = fitting(7.5, 1e-5)
    assert codes.count(201) == expected
    assert codes.count(409) == RUNS - expected
    assert view["composed_epsilon"] <= view["cap"] == 7.5
    assert len(view["reservations"]) == expected
