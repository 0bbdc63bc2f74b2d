"""Engine and session construction for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from storage import wal

log = logging.getLogger(__name__)
M = TypeVar("M")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE for writers
        # ourselves, so let SQLAlchemy emit BEGIN explicitly.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg"))
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


# A pooled connection unused for longer than this is pinged before it is handed out. A busy
# worker checks out a connection several times per event; a ping on each (pool_pre_ping) cost
# a round trip every time. A server that went away meanwhile is noticed by the ping after an
# idle spell, or by the next statement's error, which invalidates the pool (the job retries).
IDLE_PING_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("checked_in_at")
        if last is None or time.monotonic() - last < IDLE_PING_SECONDS:
            return  # new, or in use a moment ago
        try:
            alive = dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("ping failed")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _sqlite_begin)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


# pages of WAL after which a commit on the ack path checkpoints (the default is 1000 for
# every connection). The commit that crosses the limit copies the WAL into the database and
# syncs it, a 20–150 ms stall that showed as the ack path's p99 spikes. storage.wal checkpoints
# in a background thread long before; workers' sessions keep the default. This is the backstop.
ACK_PATH_CHECKPOINT_PAGES = 20000


def _sqlite_rare_checkpoints(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={ACK_PATH_CHECKPOINT_PAGES}")


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front, so two writers queue on busy_timeout instead of
    # failing with "database is locked" when a reader upgrades to a writer. An AUTOCOMMIT
    # connection (the inbox insert on the ack path) runs each statement on its own.
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_autocommit_engine(engine: Engine) -> Engine:
    """A sibling engine for single-statement writes: autocommit, no pre-ping, no reset.

    Each statement is its own transaction, so an insert is one round trip (no BEGIN/COMMIT);
    a connection that died in the pool shows as an error on use, which the caller retries.
    """
    if engine.dialect.name == "sqlite":
        # its own pool: switching pooled connections between modes would leak one into the other
        url = engine.url.render_as_string(hide_password=False)
        sibling = make_engine(url)
        event.listen(sibling, "connect", _sqlite_rare_checkpoints)
        if engine.url.database and engine.url.database != ":memory:":
            wal.watch(Path(engine.url.database).resolve())
        return sibling.execution_options(isolation_level="AUTOCOMMIT")
    return create_engine(
        engine.url, isolation_level="AUTOCOMMIT", pool_pre_ping=False, pool_reset_on_return=None
    )


def insert_unless_present(session: Session, model: type[M], values: dict[str, Any]) -> M | None:
    """Insert a row as a session object, or None when a unique key already holds it.

    One INSERT … ON CONFLICT DO NOTHING RETURNING: no savepoint to catch the duplicate, which
    cost two round trips on every event.
    """
    stmt = _unless_present(session.get_bind().dialect.name, model, frozenset(values))
    params = {f"b_{k}": v for k, v in values.items()}
    return session.scalars(stmt, params).one_or_none()


_UNLESS_PRESENT: dict[tuple[str, type, frozenset[str]], Any] = {}


def _unless_present(dialect: str, model: type, fields: frozenset[str]) -> Any:
    """The INSERT of `fields` (bound by name), built once per dialect, model and fields: every
    event records its message, and building the statement per call cost more CPU than running
    it."""
    key = (dialect, model, fields)
    stmt = _UNLESS_PRESENT.get(key)
    if stmt is None:
        columns = model.__table__.c  # type: ignore[attr-defined]
        values = {f: bindparam(f"b_{f}", type_=columns[f].type) for f in fields}
        stmt = _UNLESS_PRESENT[key] = (
            upsert_insert(dialect)(model).values(values).on_conflict_do_nothing().returning(model)
        )
    return stmt


def upsert_insert(dialect: str) -> Any:
    """The dialect's `insert` construct, which has `on_conflict_do_nothing` (PostgreSQL or
    SQLite)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def is_postgres(engine: Engine) -> bool:
    """True when the engine talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def relax_commit(session: Session) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL).

    Only for bookkeeping whose loss in a database server crash is harmless, such as a lease: the
    row is claimable again, and exactly-once rests on the durable commits around it. Saves the
    commit's fsync wait (about 3 ms on this kind of machine); the next durable commit flushes it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_RELAX_COMMIT)


_RELAX_COMMIT = text("SET LOCAL synchronous_commit TO OFF")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory that keeps loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class SqliteWriteLock:
    """Queue inbox writers of all web processes on one SQLite file without its busy handler.

    SQLite lets one writer in at a time and makes the others poll in its busy handler, sleeping
    1, 2, 5 … 100 ms between tries: under load that sleep, not the insert, is the ack latency.
    Threads queue on a mutex and processes on an flock of a file beside the database, so a
    writer waits exactly as long as the one before it takes. Used around latency-critical
    writes (recording inbound events before the platform's deadline).
    """

    def __init__(self, path: str) -> None:
        self._threads = threading.Lock()
        try:
            self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:  # a read-only or missing folder: threads still queue
            log.warning("no inbox write lock file %s (%s)", path, exc)
            self._fd = None

    @classmethod
    def for_engine(cls, engine: Engine) -> SqliteWriteLock | None:
        """The lock of a file-backed SQLite database (one per file); None for anything else."""
        url = engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        path = f"{url.database}.write.lock"
        with _LOCKS_GUARD:
            if path not in _LOCKS:
                _LOCKS[path] = cls(path)
            return _LOCKS[path]

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except OSError:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()


_LOCKS: dict[str, SqliteWriteLock] = {}
_LOCKS_GUARD = threading.Lock()
