"""Redis for rq: a configured server, or one embedded redis-server per var/ (bot.embedded_redis)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from rq import Queue

from bot import embedded_redis

log = logging.getLogger(__name__)

INBOUND_QUEUE = "inbound"
OUTBOUND_QUEUE = "outbound"
PERIODIC_QUEUE = "periodic"
ALL_QUEUES = (INBOUND_QUEUE, OUTBOUND_QUEUE, PERIODIC_QUEUE)


def embedded_redis_url(var_dir: Path) -> str:
    """Start (or join) the one embedded redis-server for `var_dir`; return its unix-socket URL."""
    return f"unix://{embedded_redis.join(var_dir)}"


def stop_embedded(var_dir: Path) -> None:
    """Stop using the embedded server; it stops when no lianxin process uses it any more."""
    embedded_redis.leave(var_dir)


def connect(url: str, *, fast_fail: bool = False) -> redis.Redis:
    """A Redis client; `fast_fail` keeps web requests from waiting on a Redis that is down."""
    opts: dict[str, Any] = {"health_check_interval": 30}
    if fast_fail:
        opts.update(socket_connect_timeout=0.5, socket_timeout=1.0)
    return redis.Redis.from_url(url, **opts)


def queue(conn: redis.Redis, name: str, prefix: str) -> Queue:
    """The rq queue `name`, namespaced by our prefix so we never share queues with others."""
    return Queue(f"{prefix}-{name}", connection=conn)
