"""A ledger with a complete clean-room run, served with the web console, shared by the console's tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ccr_agent.run import run
from ccr_agent.simulated import SimulatedTee
from chain.ledger.home import Settings
from chain.ledger.service import create_app
from schemas import statement as s
from schemas.contract import contract_id
from tests.world import World, build, running, serving
from webconsole.app import mount


@dataclass
class Served:
    world: World
    url: str
    contract: str  # the run's contract, active
    pending: str  # a second contract the bank has not signed yet
    model: str  # the digest of the run's ONNX model


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, simulator: SimulatedTee) -> Iterator[Served]:
    world = build(tmp_path_factory.mktemp("console"), simulator)
    with running(world) as live:
        report = run(live.spec(run_id="r1"), live.producer())
    pending = dict(world.ledger.registry.contracts[world.cid].raw, id="second")
    world.send("consumer", "contract.propose", {"contract": pending})
    world.send("consumer", "contract.sign", {"contract_id": contract_id(pending)})
    model = next(d for d, p in report.outputs.items() if p.name == "model.onnx.age")
    app = create_app(world.ledger, Settings(read="public"))  # the console's own checks; signed reads have theirs
    mount(app, world.ledger)
    with serving(app) as url:
        yield Served(world, url, world.cid, contract_id(pending), model)


def send(world: World, who: str, kind: str, body: dict) -> None:
    world.ledger.append(s.from_raw(s.sign(world.parties[who], kind, body)))
