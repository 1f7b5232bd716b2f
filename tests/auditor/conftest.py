"""One honest ledger with a complete run, shared by the auditor's tests (they copy it before tampering)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from auditor.replay import World as Replayed
from auditor.replay import replay
from ccr_agent.run import run
from ccr_agent.simulated import SimulatedTee
from chain.ledger.sqlstore import SqlStore
from chain.tlog import entry
from schemas.keys import Signer
from tests.conftest import Collab
from tests.world import World, build, running


@dataclass
class History:
    db: Path
    vkey: str
    key: Signer
    world: World


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory, simulator: SimulatedTee) -> History:
    """A ledger database holding a complete, honest run."""
    root = tmp_path_factory.mktemp("audited")
    key = Signer.generate()
    world = build(root, simulator, store=SqlStore(f"sqlite:///{root / 'ledger.db'}"), checkpoint_key=key)
    with running(world) as served:
        run(served.spec(run_id="r1"), served.producer())
    return History(root / "ledger.db", world.vkey, key, world)


def replayed(collab: Collab) -> Replayed:
    """The auditor's reading of a collaboration's whole log."""
    return replay((entry.decode(leaf) for leaf in collab.ledger.store.iter_leaves()), collab.operator.did)
