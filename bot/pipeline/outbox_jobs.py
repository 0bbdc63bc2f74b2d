"""Outbox sending: lease a row, call its platform's sender, record the outcome.

Rows with the same ordering key go out in id order (a row waits for its predecessor, whose
success enqueues it). Every final status of a row is set in `_finish` (sent, held) or
`_retry_or_fail` (failed): the one place to hook "what became of this send".
Jobs take ids and open their own database session.
"""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Iterable
from datetime import timedelta

from rq import Queue

from bot import metrics, runtime
from bot.outcomes import report_outcome, reports_to_case
from bot.pipeline import send_pool
from bot.pipeline.registry import HoldSend, SendError, registry
from bot.queue import OUTBOUND_QUEUE
from bot.runtime import Runtime
from storage.models import OutboxItem
from storage.outbox import fold_followers, lease_due, next_in_order, settle
from storage.timeutil import utcnow

log = logging.getLogger(__name__)


def enqueue_send(rt: Runtime, outbox_id: int, delay: float = 0.0) -> None:
    """Send a row soon: this worker's send pool, else an rq job; on Redis trouble the sweeper
    picks the row up later."""
    if delay <= 0 and not send_pool.offer(rt, [outbox_id]):
        return
    try:
        q = rt.queue(OUTBOUND_QUEUE)
        if delay > 0:
            q.enqueue_in(timedelta(seconds=delay), send_outbox, outbox_id)
        else:
            q.enqueue(send_outbox, outbox_id, result_ttl=60, failure_ttl=86400)
    except Exception as exc:
        log.warning("outbox %s not enqueued (%s); the sweeper will retry", outbox_id, exc)


def enqueue_sends(rt: Runtime, outbox_ids: Iterable[int]) -> None:
    """Send several rows soon: this worker's send pool, else rq jobs in one Redis round trip."""
    ids = send_pool.offer(rt, list(outbox_ids))
    if len(ids) <= 1:
        for outbox_id in ids:
            enqueue_send(rt, outbox_id)
        return
    jobs = [Queue.prepare_data(send_outbox, (i,), result_ttl=60, failure_ttl=86400) for i in ids]
    try:
        rt.queue(OUTBOUND_QUEUE).enqueue_many(jobs)
    except Exception as exc:
        log.warning("outbox %s not enqueued (%s); the sweeper will retry", ids, exc)


def _short_trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def send_outbox(outbox_id: int) -> str:
    """Send one outbox row: lease it, call the platform, record the outcome."""
    return send_one(runtime.current(), outbox_id)


def send_one(rt: Runtime, outbox_id: int) -> str:
    """Send one outbox row with `rt` (an rq job or a thread of the worker's send pool)."""
    item = _lease(rt, outbox_id)
    if item is None:
        return "skipped"
    outcome = _send_leased(rt, item)
    if reports_to_case(item):  # the case learns what became of its answer
        report_outcome(rt, outbox_id, outcome)
    return outcome


def _send_leased(rt: Runtime, item: OutboxItem) -> str:
    outbox_id = item.id
    fn = registry().senders.get(item.channel)
    try:
        if fn is None:
            raise SendError(f"no sender for channel {item.channel!r}", retryable=False)
        result = fn(rt, item)
    except HoldSend as exc:
        _finish(rt, outbox_id, status="held", error=str(exc))
        return "held"
    except SendError as exc:
        metrics.incr(rt, "outbox_errors")
        return _retry_or_fail(rt, outbox_id, exc)
    except Exception as exc:  # a bug or an unexpected transport error: retry with backoff
        metrics.incr(rt, "outbox_errors")
        log.exception("outbox %s: unexpected send error", outbox_id)
        return _retry_or_fail(rt, outbox_id, SendError(_short_trace(exc)))
    _finish(rt, outbox_id, status="sent", result=result)
    metrics.incr(rt, "outbox_sent")
    return "sent"


def _lease(rt: Runtime, outbox_id: int) -> OutboxItem | None:
    with rt.sessions() as session, session.begin():
        now = utcnow()  # queue timing runs on the wall clock, cases on the service clock
        until = now + timedelta(seconds=rt.settings.queue.lease_seconds)
        item = lease_due(session, outbox_id, now=now, until=until)
        if item is None:
            return None
        if item.attempts == 1:  # a retry sends what its first attempt may already have sent
            fold_followers(session, item)
        session.flush()
        session.expunge(item)
        return item


def _finish(
    rt: Runtime,
    outbox_id: int,
    *,
    status: str,
    result: dict | None = None,
    error: str | None = None,
) -> None:
    values: dict[str, object] = {"status": status, "last_error": error}
    if status == "sent":
        values.update(sent_at=utcnow(), result=result)
    with rt.sessions() as session, session.begin():
        ordering_key = settle(session, outbox_id, **values)
        # a held row does not block the ones behind it (storage.outbox.BLOCKING)
        follower = next_in_order(session, ordering_key, outbox_id)
    if follower is not None:
        enqueue_send(rt, follower)


def backoff_seconds(rt: Runtime, attempts: int, hint: float | None = None) -> float:
    """Exponential backoff with full jitter, bounded; a platform's own hint wins if longer."""
    cfg = rt.settings.queue
    ceiling = min(cfg.backoff_max_seconds, cfg.backoff_base_seconds * 2 ** max(attempts - 1, 0))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, hint or 0.0)


def _retry_or_fail(rt: Runtime, outbox_id: int, exc: SendError) -> str:
    with rt.sessions() as session, session.begin():
        item = session.get(OutboxItem, outbox_id, with_for_update=True)
        assert item is not None
        item.last_error = exc.describe()[-2000:]
        item.lease_until = None
        if not exc.retryable or item.attempts >= rt.settings.queue.max_attempts:
            item.status = "failed"
            log.error("outbox %s failed for good: %s", outbox_id, item.last_error)
            follower = next_in_order(session, item.ordering_key, item.id)
            delay = None
        else:
            delay = backoff_seconds(rt, item.attempts, exc.retry_after)
            item.status = "pending"
            item.next_attempt_at = utcnow() + timedelta(seconds=delay)
            follower = None
            log.warning(
                "outbox %s attempt %s failed (%s); retry in %.1fs",
                outbox_id,
                item.attempts,
                item.last_error,
                delay,
            )
    if delay is not None:
        enqueue_send(rt, outbox_id, delay=delay)
        return "retry"
    if follower is not None:
        enqueue_send(rt, follower)
    return "failed"
