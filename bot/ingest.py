"""Verify → record (inbox, deduped) → enqueue → ack; shared by HTTP callbacks and the stream."""

from __future__ import annotations

import logging

from rq.exceptions import DuplicateJobError

from bot import metrics
from bot.queue import INBOUND_QUEUE
from bot.runtime import Runtime
from storage.inbox import record_inbound

log = logging.getLogger(__name__)


def ingest(rt: Runtime, *, source: str, key: str, payload: str) -> bool:
    """Record an inbound event durably and enqueue its processing; False for a duplicate.

    The caller acks the platform after this returns. If Redis is down the event is still
    recorded, and the sweeper enqueues it once Redis is back.
    """
    with rt.sessions.begin() as session:
        inbox_id = record_inbound(session, source=source, key=key, payload=payload)
    if inbox_id is None:
        metrics.incr(rt, "inbox_duplicates")
        log.info("duplicate inbound %s %s ignored", source, key)
        return False
    enqueue_inbox(rt, inbox_id)
    return True


def enqueue_inbox(rt: Runtime, inbox_id: int, *, unless_queued: bool = False) -> bool:
    """Enqueue processing of one inbox row; False (and a log line) if Redis is unreachable.

    `unless_queued` (the sweeper) skips rows whose job is still known to rq, so a backlog
    is not multiplied; processing is idempotent either way.
    """
    from bot.jobs import process_inbox  # jobs import handlers; keep the web import light

    try:
        rt.queue(INBOUND_QUEUE).enqueue(
            process_inbox,
            inbox_id,
            job_id=f"{rt.settings.redis.queue_prefix}-inbox-{inbox_id}",
            result_ttl=30,
            failure_ttl=86400,
            unique=unless_queued,
        )
    except DuplicateJobError:
        return False
    except Exception as exc:  # redis down, timeouts: the sweeper retries
        log.warning(
            "inbox %s recorded but not enqueued (%s); the sweeper will retry", inbox_id, exc
        )
        return False
    return True
