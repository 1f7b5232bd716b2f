"""Shared fixtures: stores on every backend, a ledger, parties and signed statements."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyrage
import pytest

from ccr_agent.simulated import SimulatedTee
from chain.ledger.ledger import Ledger
from chain.ledger.sqlstore import SqlStore
from chain.ledger.store import MemoryStore, Store
from chain.tlog.checkpoint import verify_checkpoint
from chain.tlog.freshness import nonce_for
from schemas import statement as s
from schemas.contract import contract_id
from schemas.keys import Signer

# Public test data copied into the repository with its provenance (tests/data/README.md): a clone alone passes.
DATA = Path(__file__).resolve().parent / "data"
ORIGIN = "ledger.test/depa"


def data_file(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"test data {path} is missing from the repository")
    return path


def data_files(*parts: str, pattern: str) -> list[Path]:
    """Each test data file under a folder; a missing or empty folder is an error, never a skip."""
    found = sorted(data_file(*parts).glob(pattern))
    if not found:
        raise FileNotFoundError(f"no test data {pattern} under {DATA.joinpath(*parts)}")
    return found


def _postgres_url() -> str:
    url = os.environ.get("DEPA_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL tests need DEPA_TEST_POSTGRES_URL (.ci/run sets it)")
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
    except Exception as exc:  # any failure to connect means: no PostgreSQL here
        pytest.skip(f"PostgreSQL at DEPA_TEST_POSTGRES_URL is not reachable: {exc}")
    return url


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite in a temporary folder, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    import psycopg

    url = _postgres_url()
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize(
            "database_url",
            ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
            indirect=True,
        )


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    sql = SqlStore(database_url)
    yield sql
    sql.close()


@pytest.fixture
def operator() -> Signer:
    return Signer.generate()


@pytest.fixture
def checkpoint_key() -> Signer:
    return Signer.generate()


@pytest.fixture
def ledger(operator: Signer, checkpoint_key: Signer) -> Ledger:
    """A ledger on the in-memory store, for policy tests that need no database."""
    return Ledger(MemoryStore(), ORIGIN, checkpoint_key, operator.did)


def fresh_nonce(ledger: Ledger) -> str:
    """An attestation nonce naming the ledger's current checkpoint, as the clean-room agent binds it."""
    return nonce_for(verify_checkpoint(ledger.checkpoint(), ledger.vkey))


def age_recipient() -> str:
    return str(pyrage.x25519.Identity.generate().to_public())


@dataclass
class Party:
    name: str
    key: Signer
    role: str
    x25519: str

    @property
    def did(self) -> str:
        return self.key.did


def register(ledger: Ledger, operator: Signer, name: str, role: str, **extra: Any) -> Party:
    party = Party(name, Signer.generate(), role, age_recipient())
    body = {"did": party.did, "name": name, "roles": [role], "x25519": party.x25519, **extra}
    ledger.append(s.from_raw(s.sign(operator, "party.register", body)))
    return party


def contract_doc(tdc: Party, tdps: list[Party], ccrp: Party, **extra: Any) -> dict[str, Any]:
    """A contract in upstream DEPA shape (numbers as strings), valid from now for a year."""
    now = datetime.now(UTC)
    datasets = [
        {"id": f"ds-{i}", "name": f"data-{p.name}", "owner": p.name, "provider": p.did, "url": "", "key": {}}
        for i, p in enumerate(tdps)
    ]
    return {
        "id": str(uuid.uuid4()),
        "schemaVersion": "0.1",
        "startTime": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "expiryTime": (now + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "tdc": tdc.did,
        "tdps": [p.did for p in tdps],
        "ccrp": ccrp.did,
        "datasets": datasets,
        "purpose": "TRAINING",
        "constraints": [
            {"privacy": [{"dataset": d["id"], "epsilon_threshold": "7.5", "delta": "0.00001"} for d in datasets]}
        ],
        "terms": {"payment": {}, "revocation": {}},
        **extra,
    }


@dataclass
class Collab:
    """Three parties and an operator registered on a ledger."""

    ledger: Ledger
    operator: Signer
    tdc: Party
    tdp: Party
    ccrp: Party

    def send(self, signer: Signer, kind: str, body: Any) -> Any:
        return self.ledger.append(s.from_raw(s.sign(signer, kind, body)))

    def propose(self, **extra: Any) -> str:
        doc = contract_doc(self.tdc, [self.tdp], self.ccrp, **extra)
        self.send(self.tdc.key, "contract.propose", {"contract": doc})
        return contract_id(doc)

    def sign_all(self, contract_id: str) -> None:
        for p in (self.tdc, self.tdp, self.ccrp):
            self.send(p.key, "contract.sign", {"contract_id": contract_id})


def collab_on(ledger: Ledger, operator: Signer) -> Collab:
    """The three parties of a collaboration, registered on `ledger` by `operator`."""
    return Collab(
        ledger,
        operator,
        register(ledger, operator, "consumer", "TDC"),
        register(ledger, operator, "bank", "TDP"),
        register(ledger, operator, "cloud", "CCRP"),
    )


@pytest.fixture
def collab(ledger: Ledger, operator: Signer) -> Collab:
    return collab_on(ledger, operator)


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> SimulatedTee:
    """One simulated SEV-SNP TEE per test process (two RSA-4096 keys take a second to make)."""
    return SimulatedTee.open(tmp_path_factory.mktemp("simulated-tee"))
