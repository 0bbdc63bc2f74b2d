"""The worker engine's pool: connections are pinged only after an idle spell."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from storage.db import IDLE_PING_SECONDS, make_engine


@pytest.fixture()
def pg_engine(database_url: str) -> Iterator[Engine]:
    """A fresh worker engine on the test database (PostgreSQL only)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    """The server ends one session (as a restart or an administrator would)."""
    with make_engine(engine.url.render_as_string(hide_password=False)).connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()


def test_a_connection_back_from_the_pool_at_once_is_not_pinged(pg_engine: Engine) -> None:
    _terminate(pg_engine, _backend_pid(pg_engine))
    # checked out again at once: no ping, so the dead connection shows on first use; the
    # error invalidates the pool and the next checkout gets a fresh connection
    with pytest.raises(OperationalError):
        _backend_pid(pg_engine)
    assert _backend_pid(pg_engine) > 0


def test_a_connection_the_server_dropped_while_idle_is_replaced_before_use(
    pg_engine: Engine,
) -> None:
    dropped = _backend_pid(pg_engine)
    _terminate(pg_engine, dropped)
    time.sleep(IDLE_PING_SECONDS + 0.2)  # idle long enough to be pinged at checkout
    invalidated: list[object] = []
    event.listen(pg_engine, "invalidate", lambda *args: invalidated.append(args))
    assert _backend_pid(pg_engine) != dropped  # no error: the ping found it dead
    assert len(invalidated) == 1
