"""The ledger's home folder: its keys, its settings and (by default) its SQLite database.

DIR/operator.pem     the operator's Ed25519 key (PKCS#8): signs party registrations
DIR/checkpoint.pem   the ledger's Ed25519 checkpoint key: its vkey is what clients pin
DIR/ledger.json      origin, operator DID, vkey, and the database URL if not the default
DIR/ledger.db        the SQLite database, unless DEPA_DATABASE_URL names another
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

from chain.ledger.integrity import Scan, scan
from chain.ledger.ledger import Ledger
from chain.ledger.readers import ReadMode
from chain.ledger.sqlstore import SqlStore
from chain.tlog.checkpoint import VerifierKey, vkey_of
from schemas.errors import DepaError, MalformedInput
from schemas.keys import Signer, write_secret


class Settings(BaseSettings):
    """Read from the environment (DEPA_*), validated at start."""

    model_config = SettingsConfigDict(env_prefix="DEPA_")

    database_url: str | None = None
    # Witnesses whose cosignatures the ledger keeps and serves: cosignature/v1 vkeys, as a JSON list.
    witnesses: list[str] = []
    max_batch: int = 2048
    max_pending: int = 20_000
    # A body that has not arrived in this many seconds is refused (408): half-sent uploads hold no connection.
    body_timeout: float = 10.0
    # A request line and headers that have not arrived in this many seconds close the connection (408).
    header_timeout: float = 10.0
    # Connections served at once; past it new ones get 503, so slow clients cannot use up file descriptors.
    max_connections: int = 512
    # Who reads entries and views: "parties" (requests signed by a registered party, RFC 9421) or "public".
    # Checkpoints, the vkey and proofs are public either way. Entries name parties, datasets and terms,
    # so a ledger serves its parties only unless its operator says otherwise.
    read: ReadMode = "parties"


class HomeConfig(BaseModel):
    origin: str
    operator: str
    vkey: str
    database_url: str | None = None


def _config_path(home: Path) -> Path:
    return home / "ledger.json"


def database_url(home: Path, config: HomeConfig, settings: Settings) -> str:
    return settings.database_url or config.database_url or f"sqlite:///{(home / 'ledger.db').resolve()}"


def init_home(home: Path, origin: str, settings: Settings | None = None) -> HomeConfig:
    """Create a ledger home with fresh keys and an empty, signed log; return its config."""
    settings = settings or Settings()
    if _config_path(home).exists():
        raise MalformedInput(f"{home} already holds a ledger; choose another --home")
    home.mkdir(parents=True, exist_ok=True)
    operator, checkpoint_key = Signer.generate(), Signer.generate()
    config = HomeConfig(
        origin=origin,
        operator=operator.did,
        vkey=str(vkey_of(origin, checkpoint_key)),
        database_url=settings.database_url,
    )
    store = SqlStore(database_url(home, config, settings))
    try:
        if store.size() or store.latest_checkpoint():
            raise MalformedInput("the database already holds a log; give this ledger its own database")
        write_secret(home / "operator.pem", operator.pem())
        write_secret(home / "checkpoint.pem", checkpoint_key.pem())
        Ledger(store, origin, checkpoint_key, operator.did)
    finally:
        store.close()
    _config_path(home).write_text(config.model_dump_json(indent=2) + "\n")
    return config


def _config(home: Path) -> HomeConfig:
    try:
        return HomeConfig.model_validate(json.loads(_config_path(home).read_text()))
    except FileNotFoundError as exc:
        raise MalformedInput(f"{home} is not a ledger home; run depa-chain init --home {home}") from exc


def check_home(home: Path, settings: Settings | None = None) -> Scan:
    """Every stored byte of a home's log checked against its leaves, every problem named; nothing is written."""
    settings = settings or Settings()
    config = _config(home)
    store = SqlStore(database_url(home, config, settings))
    try:
        return scan(store, VerifierKey.parse(config.vkey), config.operator, thorough=True, stop=False)
    finally:
        store.close()


def open_home(home: Path, settings: Settings | None = None) -> Ledger:
    """Open the ledger of a home; raises LedgerCorrupt if the stored log fails its checkpoint."""
    settings = settings or Settings()
    config = _config(home)
    store = SqlStore(database_url(home, config, settings))
    try:
        return Ledger(store, config.origin, Signer.load(home / "checkpoint.pem"), config.operator)
    except DepaError:
        store.close()
        raise
