"""Verify → record (inbox, deduped) → ack, shared by HTTP callbacks and the stream.

The ack path costs one autocommit INSERT: no BEGIN/COMMIT, no pool pre-ping, no Redis. The
replay check of a signed callback rides on the same insert (the nonce is a unique column), and
workers are woken by a background thread (`wake.Waker`); the sweeper covers a lost wake-up.
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import Engine

from bot import metrics
from bot.pipeline.wake import waker
from bot.runtime import Runtime
from storage.db import SqliteWriteLock, make_autocommit_engine
from storage.inbox import is_replay, record_inbound_direct

log = logging.getLogger(__name__)


class ReplayedNonce(Exception):
    """The callback's (timestamp, nonce) was already used by another event."""


def ingest(
    rt: Runtime,
    *,
    source: str,
    key: str,
    payload: str,
    conversation: str | None = None,
    nonce: str | None = None,
) -> bool:
    """Record an inbound event durably and wake a worker; False for a duplicate.

    `conversation` orders the event behind the earlier ones of the same conversation (default:
    a conversation of its own). The caller acks the platform after this returns; the wake-up
    goes out after the return, and if Redis is down the sweeper wakes the row later.
    Raises ReplayedNonce when `nonce` belongs to another event (nothing is recorded).
    """
    conv = conversation or f"{source}:{key}"
    inbox_id = _insert(rt, source, key, payload, conv, nonce)
    if inbox_id is None:
        if nonce is not None and _replayed(rt, source, key, nonce):
            raise ReplayedNonce(nonce)
        metrics.incr(rt, "inbox_duplicates")
        log.info("duplicate inbound %s %s ignored", source, key)
        return False
    waker(rt).submit(conv)
    return True


def _insert(
    rt: Runtime, source: str, key: str, payload: str, conversation: str, nonce: str | None
) -> int | None:
    # no pre-ping: a connection the server closed fails once and is retried on a fresh one
    with _write_slot(rt):
        return record_inbound_direct(
            ack_engine(rt),
            source=source,
            key=key,
            payload=payload,
            conversation=conversation,
            nonce=nonce,
        )


def _replayed(rt: Runtime, source: str, key: str, nonce: str) -> bool:
    with ack_engine(rt).connect() as conn:
        return is_replay(conn, source=source, key=key, nonce=nonce)


_ack_engines: dict[int, tuple[Engine, Engine]] = {}
_guard = threading.Lock()


def ack_engine(rt: Runtime) -> Engine:
    """The autocommit sibling of `rt.engine` used on the ack path (one per engine)."""
    with _guard:
        found = _ack_engines.get(id(rt.engine))
        if found is None or found[0] is not rt.engine:
            found = _ack_engines[id(rt.engine)] = (rt.engine, make_autocommit_engine(rt.engine))
        return found[1]


def _write_slot(rt: Runtime) -> AbstractContextManager[object]:
    # SQLite: queue on a lock instead of its sleeping busy handler (the ack deadline is tight)
    return SqliteWriteLock.for_engine(rt.engine) or nullcontext()
