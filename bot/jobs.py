"""rq job entry points. Jobs take ids and strings and open their own database session."""

from __future__ import annotations

import logging
import random
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import metrics, runtime
from bot.config import Settings
from bot.duties_jobs import run_duties
from bot.outcomes import report_outcome
from bot.queue import OUTBOUND_QUEUE
from bot.registry import HoldSend, IOProcessor, SendError, load_adapters
from bot.runtime import Runtime
from storage.inbox import lock_pending, mark_done, pending_inbox_ids, take_lease
from storage.models import InboxItem, OutboxItem
from storage.outbox import (
    NEW_OUTBOX_KEY,
    blocking_predecessor,
    due_outbox_ids,
    next_in_order,
    take_new_outbox_ids,
)
from storage.timeutil import utcnow

if TYPE_CHECKING:
    from handlers.context import HandlerContext
    from handlers.events import InboundEvent

log = logging.getLogger(__name__)


def process_inbox(inbox_id: int) -> str:
    """Process one inbox row exactly once: its effects and its `done` mark commit together."""
    rt = runtime.current()
    registry = load_adapters()
    with rt.sessions() as session:
        item = session.get(InboxItem, inbox_id)
        source = item.source if item is not None and item.status == "pending" else None
    if source is None:
        return "skipped"
    lease = timedelta(seconds=rt.settings.queue.lease_seconds)
    with rt.sessions() as session, session.begin():
        # committed on its own, so the sweeper can tell a running job from a dead one
        if take_lease(session, inbox_id, lease) is None:
            return "skipped"
    if source in registry.io_processors:
        return _run_io_processor(rt, registry.io_processors[source], inbox_id)
    with rt.sessions() as session, session.begin():
        item = lock_pending(session, inbox_id)
        if item is None:
            return "skipped"
        fn = registry.processors.get(item.source)
        if fn is None:
            _fail_inbox(rt, item, f"no processor for source {item.source!r}", final=True)
            return "failed"
        try:
            with session.begin_nested():
                fn(rt, session, item)
        except Exception as exc:
            session.info.pop(NEW_OUTBOX_KEY, None)
            log.exception("inbox %s (%s) failed", inbox_id, item.source)
            _fail_inbox(
                rt, item, _short_trace(exc), final=item.attempts >= rt.settings.queue.max_attempts
            )
            return "error"
        mark_done(item)
        new_ids = take_new_outbox_ids(session)
    metrics.incr(rt, "inbox_processed")
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    return "done"


def _run_io_processor(rt: Runtime, fn: IOProcessor, inbox_id: int) -> str:
    try:
        fn(rt, inbox_id)
    except Exception as exc:
        log.exception("inbox %s failed", inbox_id)
        with rt.sessions() as session, session.begin():
            item = lock_pending(session, inbox_id)
            if item is not None:
                _fail_inbox(
                    rt,
                    item,
                    _short_trace(exc),
                    final=item.attempts >= rt.settings.queue.max_attempts,
                )
        return "error"
    metrics.incr(rt, "inbox_processed")
    return "done"


def _fail_inbox(rt: Runtime, item: InboxItem, error: str, *, final: bool) -> None:
    metrics.incr(rt, "inbox_errors")
    item.last_error = error[-2000:]
    item.lease_until = None
    if final:
        item.status = "failed"


def _short_trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def enqueue_send(rt: Runtime, outbox_id: int, delay: float = 0.0) -> None:
    """Enqueue a send job; on Redis trouble the sweeper picks the row up later."""
    try:
        q = rt.queue(OUTBOUND_QUEUE)
        if delay > 0:
            q.enqueue_in(timedelta(seconds=delay), send_outbox, outbox_id)
        else:
            q.enqueue(send_outbox, outbox_id, result_ttl=60, failure_ttl=86400)
    except Exception as exc:
        log.warning("outbox %s not enqueued (%s); the sweeper will retry", outbox_id, exc)


def send_outbox(outbox_id: int) -> str:
    """Send one outbox row: lease it, call the platform, record the outcome."""
    rt = runtime.current()
    outcome = _send_outbox(rt, outbox_id)
    report_outcome(rt, outbox_id, outcome)  # the case learns what became of its answer
    return outcome


def _send_outbox(rt: Runtime, outbox_id: int) -> str:
    registry = load_adapters()
    item = _lease(rt, outbox_id)
    if item is None:
        return "skipped"
    fn = registry.senders.get(item.channel)
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
        item = session.execute(
            select(OutboxItem).where(OutboxItem.id == outbox_id).with_for_update()
        ).scalar_one_or_none()
        now = utcnow()  # queue timing runs on the wall clock, cases on the service clock
        if item is None or not _is_due(item, now):
            return None
        if blocking_predecessor(session, item) is not None:
            return None  # the predecessor's success enqueues this one
        item.status = "sending"
        item.attempts += 1
        item.lease_until = now + timedelta(seconds=rt.settings.queue.lease_seconds)
        session.flush()
        session.expunge(item)
        return item


def _is_due(item: OutboxItem, now: object) -> bool:
    if item.status == "pending":
        return item.next_attempt_at <= now  # type: ignore[operator]
    return item.status == "sending" and item.lease_until is not None and item.lease_until < now  # type: ignore[operator]


def _finish(
    rt: Runtime,
    outbox_id: int,
    *,
    status: str,
    result: dict | None = None,
    error: str | None = None,
) -> None:
    with rt.sessions() as session, session.begin():
        item = session.get(OutboxItem, outbox_id, with_for_update=True)
        assert item is not None
        item.status = status
        item.lease_until = None
        item.last_error = error
        if status == "sent":
            item.sent_at = utcnow()
            item.result = result
        # a held row does not block the ones behind it (storage.outbox.BLOCKING)
        follower = next_in_order(session, item) if status in ("sent", "held") else None
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
            follower = next_in_order(session, item)
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


def sweep() -> dict[str, int]:
    """Re-enqueue inbox rows left pending and outbox rows due (Redis was down, a worker died)."""
    rt = runtime.current()
    from bot.ingest import enqueue_inbox

    now = utcnow()
    with rt.sessions() as session:
        inbox_ids = pending_inbox_ids(
            session, older_than=now - timedelta(seconds=rt.settings.queue.sweep_seconds), now=now
        )
        outbox_ids = due_outbox_ids(session, now=now)
    for inbox_id in inbox_ids:
        enqueue_inbox(rt, inbox_id, unless_queued=True)
    for outbox_id in outbox_ids:
        enqueue_send(rt, outbox_id)
    return {"inbox": len(inbox_ids), "outbox": len(outbox_ids)}


# ---------------------------------------------------------------- workflow glue


def handler_context(rt: Runtime, session: Session) -> HandlerContext:
    """The handlers' view of configuration and the service clock."""
    return build_context(rt.settings, session, rt.now(session))


def build_context(settings: Settings, session: Session, now: datetime) -> HandlerContext:
    """The handler context for `settings` at `now` (commands that need no Redis use this)."""
    from bot.workcal_config import work_calendar
    from handlers.context import HandlerContext
    from handlers.workcal import SlaPolicy

    sla = settings.sla
    return HandlerContext(
        now=now,
        # the office's own calendar data goes ahead of the chinese_calendar library
        calendar=work_calendar(settings, session),
        sla_defaults=SlaPolicy(sla.claim_days, sla.answer_days, sla.close_days),
        rating_days=sla.rating_days,
        reason_wait_minutes=sla.reason_wait_minutes,
        office_group_id=settings.dingtalk.staff_group_id or None,
    )


def dispatch_event(rt: Runtime, session: Session, event: InboundEvent) -> None:
    """Hand a neutral event to the handlers inside the inbox job's transaction."""
    from handlers.dispatch import handle

    handle(session, event, handler_context(rt, session))


def _periodic(name: str) -> str:
    rt = runtime.current()
    from handlers import calendar_watch, escalation, rating

    step = {
        "escalation": escalation.run_due,
        "rating": rating.expire_unrated,
        "calendar": calendar_watch.warn_missing,
        "reasons": rating.notify_unexplained,
    }[name]
    with rt.sessions() as session, session.begin():
        count = step(session, handler_context(rt, session))
        new_ids = take_new_outbox_ids(session)
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    return f"{name}: {count}"


def run_escalations() -> str:
    """Periodic: run every escalation step that is due (each exactly once)."""
    return _periodic("escalation")


def expire_ratings() -> str:
    """Periodic: close answered cases nobody rated within the rating window as 未评价."""
    return _periodic("rating")


def check_calendar() -> str:
    """Periodic: tell each office staff group once about a year without holiday data."""
    return _periodic("calendar")


def report_unexplained_ratings() -> str:
    """Periodic: tell handlers and staff of each 不满意 whose reason did not come in time."""
    return _periodic("reasons")


def PERIODIC(settings: Settings) -> list[tuple[Callable[[], object], int]]:  # noqa: N802
    """The periodic jobs and their intervals in seconds."""
    return [
        (sweep, settings.queue.sweep_seconds),
        (run_escalations, 60),
        (expire_ratings, 300),
        (check_calendar, 3600),
        (report_unexplained_ratings, 60),
        (run_duties, 300),  # 代表履职: solicitation closes and reminders (bot/duties_jobs.py)
    ]
