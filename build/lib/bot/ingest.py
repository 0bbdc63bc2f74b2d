"""Verify → record (inbox, deduped) → enqueue → ack; shared by HTTP callbacks and the stream."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext

from rq.job import Job, JobStatus

from bot import metrics
from bot.queue import INBOUND_QUEUE
from bot.runtime import Runtime
from storage.db import SqliteWriteLock
from storage.inbox import record_inbound

log = logging.getLogger(__name__)
# A STARTED job is not "live" here: the sweeper only asks once the row's lease has run out,
# i.e. when the worker that started it is presumed dead.
WAITING_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def ingest(rt: Runtime, *, source: str, key: str, payload: str) -> bool:
    """Record an inbound event durably and enqueue its processing; False for a duplicate.

    The caller acks the platform after this returns. If Redis is down the event is still
    recorded, and the sweeper enqueues it once Redis is back.
    """
    with _write_slot(rt), rt.engine.begin() as conn:
        inbox_id = record_inbound(conn, source=source, key=key, payload=payload)
    if inbox_id is None:
        metrics.incr(rt, "inbox_duplicates")
        log.info("duplicate inbound %s %s ignored", source, key)
        return False
    enqueue_inbox(rt, inbox_id)
    return True


def _write_slot(rt: Runtime) -> AbstractContextManager[object]:
    # SQLite: queue on a lock instead of its sleeping busy handler (the ack deadline is tight)
    return SqliteWriteLock.for_engine(rt.engine) or nullcontext()


def enqueue_inbox(rt: Runtime, inbox_id: int, *, unless_queued: bool = False) -> bool:
    """Enqueue processing of one inbox row; False (and a log line) if Redis is unreachable.

    `unless_queued` (the sweeper) skips rows whose job is still waiting in the queue, so a
    backlog is not multiplied; a job that died with its worker is enqueued again. Processing is
    idempotent either way.
    """
    from bot.jobs import process_inbox  # jobs import handlers; keep the web import light

    job_id = f"{rt.settings.redis.queue_prefix}-inbox-{inbox_id}"
    try:
        queue = rt.queue(INBOUND_QUEUE)
        if unless_queued and _job_alive(queue.fetch_job(job_id)):
            return False
        queue.enqueue(process_inbox, inbox_id, job_id=job_id, result_ttl=30, failure_ttl=86400)
    except Exception as exc:  # redis down, timeouts: the sweeper retries
        log.warning(
            "inbox %s recorded but not enqueued (%s); the sweeper will retry", inbox_id, exc
        )
        return False
    return True


def _job_alive(job: Job | None) -> bool:
    return job is not None and job.get_status(refresh=False) in WAITING_STATUSES
