"""The log in SQLModel tables: SQLite (WAL, synchronous=FULL) by default, PostgreSQL by URL."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, LargeBinary, Row, Select, delete, event, func, insert, select, tuple_
from sqlalchemy.exc import DBAPIError
from sqlmodel import Column, Field, SQLModel, col, create_engine

from chain.ledger.store import COSIGNED, Batch
from chain.tlog.merkle import NodeId
from schemas.errors import MalformedInput, Unavailable


class LogEntry(SQLModel, table=True):
    __tablename__ = "log_entry"
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    statement_id: bytes = Field(sa_column=Column(LargeBinary, unique=True, nullable=False))
    leaf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogNode(SQLModel, table=True):
    """A perfect subtree hash: level 0 is the leaf hash."""

    __tablename__ = "log_node"
    __table_args__ = {"sqlite_with_rowid": False}
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogCheckpoint(SQLModel, table=True):
    __tablename__ = "log_checkpoint"
    size: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    note: str


_TABLES = [SQLModel.metadata.tables[t.__tablename__] for t in (LogEntry, LogNode, LogCheckpoint)]
_CHUNK = 500  # bound the parameters of one IN query


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

        return engine
    if url.startswith("postgresql+psycopg://"):
        return create_engine(url, pool_size=8, pool_pre_ping=True)
    raise MalformedInput(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


def _paged(engine: Engine, query: Select, key: tuple[Any, ...], page: int = 10_000) -> Iterator[Row]:
    """The rows of `query` in the order of `key` (its leading columns, unique), a page per connection."""
    after: tuple[Any, ...] | None = None
    while True:
        q = query.order_by(*key).limit(page)
        if after is not None:
            q = q.where(tuple_(*key) > tuple_(*after))
        with engine.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            return
        yield from rows
        after = tuple(rows[-1][: len(key)])


def _driver_errors(cls: type) -> type:
    """Every public method raises StoreUnavailable for what the database refuses (read-only, disk full, gone):
    callers get one typed error saying what happened, with the driver's first line, never SQL or parameters."""

    def translated(method: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(method):

            @functools.wraps(method)
            def rows(*args: Any, **kwargs: Any) -> Any:
                try:
                    yield from method(*args, **kwargs)
                except DBAPIError as exc:
                    raise StoreUnavailable.of(exc) from None

            return rows

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except DBAPIError as exc:
                raise StoreUnavailable.of(exc) from None

        return call

    for name, method in list(vars(cls).items()):
        if callable(method) and (not name.startswith("_") or name == "__init__"):
            setattr(cls, name, translated(method))
    return cls


class StoreUnavailable(Unavailable):
    remedy = "check that the database is reachable, writable and has space; nothing was changed"

    @classmethod
    def of(cls, exc: DBAPIError) -> StoreUnavailable:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        return cls(f"the database cannot be used: {reason}")


@_driver_errors
class SqlStore:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        SQLModel.metadata.create_all(self.engine, tables=_TABLES)

    def size(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.coalesce(func.max(col(LogEntry.seq)) + 1, 0))).scalar_one()

    def latest_checkpoint(self) -> str | None:
        with self.engine.connect() as conn:
            q = select(col(LogCheckpoint.note)).order_by(col(LogCheckpoint.size).desc()).limit(1)
            return conn.execute(q).scalar_one_or_none()

    def write_checkpoint(self, size: int, note: str) -> None:
        """Insert, or replace the note of that size (the same checkpoint, with witnesses' cosignatures added)."""
        with self.engine.begin() as conn:
            conn.execute(delete(LogCheckpoint).where(col(LogCheckpoint.size) == size))
            conn.execute(insert(LogCheckpoint), [{"size": size, "note": note}])

    def checkpoint_at(self, size: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(col(LogCheckpoint.note)).where(col(LogCheckpoint.size) == size)
            ).scalar_one_or_none()

    def latest_witnessed(self) -> str | None:
        # Read once at start: a scan of the checkpoints, one row per batch.
        pattern = f"%{COSIGNED}%{COSIGNED}%"
        q = (
            select(col(LogCheckpoint.note))
            .where(col(LogCheckpoint.note).like(pattern))
            .order_by(col(LogCheckpoint.size).desc())
        )
        with self.engine.connect() as conn:
            return conn.execute(q.limit(1)).scalar_one_or_none()

    # The append path and proof reads use plain SQL through the driver: the ORM's statement
    # building costs more per batch than the database's own work (see bench/).
    def _mark(self, conn: Connection) -> str:
        return "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def append(self, batch: Batch) -> None:
        first, size = batch.first_seq, batch.first_seq + len(batch.leaves)
        entries = [
            (first + i, sid, leaf) for i, (sid, leaf) in enumerate(zip(batch.statement_ids, batch.leaves, strict=True))
        ]
        nodes = [(lvl, idx, h) for (lvl, idx), h in batch.nodes]
        with self.engine.begin() as conn:
            m = self._mark(conn)
            conn.exec_driver_sql(f"INSERT INTO log_entry (seq, statement_id, leaf) VALUES ({m}, {m}, {m})", entries)
            conn.exec_driver_sql(f"INSERT INTO log_node (level, idx, hash) VALUES ({m}, {m}, {m})", nodes)
            conn.exec_driver_sql(f"INSERT INTO log_checkpoint (size, note) VALUES ({m}, {m})", (size, batch.checkpoint))

    def read_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        # A proof's O(log n) nodes in one primary-key query; plain SQL because building the
        # expression through the ORM costs more than the query itself.
        found: dict[NodeId, bytes] = {}
        with self.engine.connect() as conn:
            mark = self._mark(conn)
            for at in range(0, len(ids), _CHUNK):
                chunk = ids[at : at + _CHUNK]
                where = " OR ".join([f"(level = {mark} AND idx = {mark})"] * len(chunk))
                params = tuple(v for node in chunk for v in node)
                rows = conn.exec_driver_sql(f"SELECT level, idx, hash FROM log_node WHERE {where}", params)
                found.update(((lvl, idx), bytes(h)) for lvl, idx, h in rows)
        return [found[i] for i in ids]

    def leaves(self, start: int, limit: int) -> list[bytes]:
        q = select(col(LogEntry.leaf)).where(col(LogEntry.seq) >= start).order_by(col(LogEntry.seq)).limit(limit)
        with self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def iter_leaves(self) -> Iterator[bytes]:
        """Every stored leaf in seq order; paged by seq, so a missing row shows as a gap, not a repeat."""
        return (leaf for _, _, leaf in self.iter_entries())

    def iter_entries(self) -> Iterator[tuple[int, bytes, bytes]]:
        q = select(col(LogEntry.seq), col(LogEntry.statement_id), col(LogEntry.leaf))
        for seq, sid, leaf in _paged(self.engine, q, (col(LogEntry.seq),)):
            yield seq, bytes(sid), leaf

    def iter_nodes(self) -> Iterator[tuple[int, int, bytes]]:
        q = select(col(LogNode.level), col(LogNode.idx), col(LogNode.hash))
        for level, idx, digest in _paged(self.engine, q, (col(LogNode.level), col(LogNode.idx))):
            yield level, idx, bytes(digest)

    def iter_checkpoints(self) -> Iterator[tuple[int, str]]:
        yield from _paged(
            self.engine, select(col(LogCheckpoint.size), col(LogCheckpoint.note)), (col(LogCheckpoint.size),)
        )

    def seqs_of(self, statement_ids: Sequence[bytes]) -> dict[bytes, int]:
        found: dict[bytes, int] = {}
        with self.engine.connect() as conn:
            m = self._mark(conn)
            for at in range(0, len(statement_ids), _CHUNK):
                chunk = tuple(statement_ids[at : at + _CHUNK])
                rows = conn.exec_driver_sql(
                    f"SELECT statement_id, seq FROM log_entry WHERE statement_id IN ({', '.join([m] * len(chunk))})",
                    chunk,
                )
                found.update((bytes(sid), seq) for sid, seq in rows)
        return found

    def close(self) -> None:
        self.engine.dispose()
