"""The process-wide runtime: settings, database sessions, Redis and queues, built once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import redis
from rq import Queue
from sqlalchemy import Engine, ScalarSelect, select
from sqlalchemy.orm import Session, sessionmaker

from bot import queue as q
from bot.config import Settings, load_settings
from bot.filelock import locked
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import KeyValue

log = logging.getLogger(__name__)
CLOCK_OFFSET_KEY = "clock_offset_seconds"


@dataclass
class Runtime:
    """Everything a job or request needs, shared within one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis_url: str
    redis: redis.Redis
    queues: dict[str, Queue] = field(default_factory=dict)

    def queue(self, name: str) -> Queue:
        """The rq queue for `name` (inbound, outbound, periodic)."""
        if name not in self.queues:
            self.queues[name] = q.queue(self.redis, name, self.settings.redis.queue_prefix)
        return self.queues[name]

    def now(self, session: Session | None = None) -> datetime:
        """The service clock: wall time plus the sandbox's fast-forward offset."""
        offset = clock_offset(session) if session is not None else self._offset_fresh()
        return _ahead_by(offset)

    def _offset_fresh(self) -> float:
        with self.sessions() as session:
            return clock_offset(session)


def clock_offset(session: Session) -> float:
    """Seconds the service clock runs ahead of the wall clock (sandbox 快进)."""
    row = session.get(KeyValue, CLOCK_OFFSET_KEY)
    return float(row.value) if row else 0.0


def clock_offset_column() -> ScalarSelect[str]:
    """The stored offset as a scalar subquery (NULL: none), to share another query's trip."""
    return select(KeyValue.value).where(KeyValue.key == CLOCK_OFFSET_KEY).scalar_subquery()


def service_time(offset: str | None) -> datetime:
    """The service clock for a stored offset value (see `clock_offset_column`)."""
    return _ahead_by(float(offset) if offset else 0.0)


def _ahead_by(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def build_runtime(
    settings: Settings, *, web: bool = False, migrate_db: bool | None = None
) -> Runtime:
    """Connect to the database and Redis described by `settings`."""
    from bot.insight_config import install_categories

    install_categories(settings)  # the deployment's category set, for every job of the process
    # the web pings every pooled connection before use: a page must not fail once after a
    # database restart; workers ping only after an idle spell (storage.db.IDLE_PING_SECONDS)
    engine = make_engine(settings.database_url, pool_pre_ping=web)
    if migrate_db if migrate_db is not None else not settings.database.url:
        # the embedded default migrates itself; gunicorn's workers start together: one at a time
        with locked(settings.var_dir / "migrate.lock"):
            migrate.upgrade(engine)
    url = settings.redis.url or q.embedded_redis_url(settings.var_dir)
    conn = q.connect(url, fast_fail=web)
    return Runtime(settings, engine, make_session_factory(engine), url, conn)


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Make `runtime` the one jobs in this process use (tests and `lianxin` commands call this)."""
    global _current
    _current = runtime


def current() -> Runtime:
    """The installed runtime, or one built from the environment's config (rq worker processes)."""
    global _current
    if _current is None:
        _current = build_runtime(load_settings())
    return _current
