"""Inbox processing in conversation order: a wake-up job drains one conversation.

`process_conversation(X)` claims X's oldest pending row (its head) if no worker holds it,
processes it exactly once (effects and the `done` mark commit together), then goes on with X's
next row, so a burst of one conversation is handled in order by whoever holds it. Another
worker woken for X finds the head held and returns at once. A failing row keeps its
conversation waiting through its retries (backoff on `lease_until`), then is `failed` and the
conversation proceeds. A worker killed mid-row leaves its lease, which runs out; the sweeper
then wakes the conversation again.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from bot import metrics, runtime
from bot.pipeline.mask_jobs import enqueue_masks
from bot.pipeline.outbox_jobs import backoff_seconds, enqueue_sends
from bot.pipeline.registry import IOProcessor, Registry, registry
from bot.pipeline.wake import wake, wake_later
from bot.runtime import Runtime
from handlers.workbench.masked import take_cases_to_mask
from storage.db import is_postgres
from storage.inbox import claim_head, finish_leased, lock_pending, mark_failed, retry_at
from storage.models import InboxItem
from storage.outbox import take_new_outbox_ids
from storage.timeutil import utcnow

log = logging.getLogger(__name__)
# rows one job handles before it hands the conversation to a fresh wake-up, so a very long
# burst does not keep other queued conversations waiting behind one job
BURST = 50


def process_conversation(conversation: str) -> str:
    """rq job: process the claimable rows of `conversation`, in order."""
    rt = runtime.current()
    table = registry()
    counts: dict[str, int] = {}
    for _ in range(BURST):
        outcome = process_head(rt, table, conversation)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome in ("idle", "retry"):
            break
    else:
        wake(rt, [conversation])  # more may wait: continue in a new job, behind the others
    return " ".join(f"{k}={v}" for k, v in sorted(counts.items()))


def process_inbox(inbox_id: int) -> str:
    """Process the conversation of one row (tests and operators); the row runs in its turn."""
    rt = runtime.current()
    with rt.sessions() as session:
        conversation = session.scalar(
            select(InboxItem.conversation).where(InboxItem.id == inbox_id)
        )
    return "skipped" if conversation is None else process_conversation(conversation)


def process_head(rt: Runtime, table: Registry, conversation: str) -> str:
    """Claim and process the head row of `conversation`: idle | done | retry | failed."""
    lease = timedelta(seconds=rt.settings.queue.lease_seconds)
    with rt.sessions() as session, session.begin():
        # committed on its own: the lease tells every other worker the conversation is held
        item = claim_head(session, conversation, lease, skip_locked=is_postgres(rt.engine))
        if item is None:
            return "idle"
        session.expunge(item)  # its claimed state, detached: the processing session adopts it
    inbox_id = item.id
    if item.source in table.io_processors:
        outcome = _run_io_processor(rt, table.io_processors[item.source], inbox_id, conversation)
    else:
        outcome = _run_processor(rt, table, item, conversation)
    if outcome == "retry":  # after the commit: the delayed wake-up must find the backoff saved
        wake_later(rt, conversation, _retry_delay(rt, inbox_id))
    return outcome


def _retry_delay(rt: Runtime, inbox_id: int) -> float:
    with rt.sessions() as session:
        until = session.scalar(select(InboxItem.lease_until).where(InboxItem.id == inbox_id))
    return max((until - utcnow()).total_seconds(), 0.0) if until is not None else 0.0


class _LeaseLost(Exception):
    """Another worker took the row over (our lease ran out): our effects roll back."""


def _run_processor(rt: Runtime, table: Registry, claimed: InboxItem, conversation: str) -> str:
    lease = Lease(claimed.id, claimed.source, claimed.attempts)  # `claimed` expires at commit
    fn = table.processors.get(lease.source)
    if fn is None:
        return _record_failure(rt, lease, f"no processor for source {lease.source!r}", None)
    try:
        # the effects and the `done` mark commit together, or (an exception) neither does
        with rt.sessions() as session, session.begin():
            session.add(claimed)
            fn(rt, session, claimed)
            if not finish_leased(session, claimed):
                raise _LeaseLost
            new_ids = take_new_outbox_ids(session)
            to_mask = take_cases_to_mask(session)
    except _LeaseLost:
        log.warning("inbox %s was taken over by another worker; its effects are theirs", lease.id)
        return "done"
    except Exception as exc:
        log.exception("inbox %s (%s) failed", lease.id, lease.source)
        return _record_failure(rt, lease, _short_trace(exc), conversation)
    metrics.incr(rt, "inbox_processed")
    enqueue_sends(rt, new_ids)
    enqueue_masks(rt, to_mask)  # after the sends: the ack never waits for the masker
    return "done"


@dataclass(frozen=True)
class Lease:
    """What a worker holds of a claimed row."""

    id: int
    source: str
    attempts: int


def _record_failure(rt: Runtime, lease: Lease, error: str, conversation: str | None) -> str:
    """In a transaction of its own: retry the row later or give up on it (None: at once)."""
    with rt.sessions() as session, session.begin():
        item = lock_pending(session, lease.id)
        if item is None or item.attempts != lease.attempts:
            return "done"  # another worker took the row over meanwhile
        if conversation is None:
            return _give_up(rt, item, error)
        return _failed(rt, item, error, conversation)


def _run_io_processor(rt: Runtime, fn: IOProcessor, inbox_id: int, conversation: str) -> str:
    try:
        fn(rt, inbox_id)
    except Exception as exc:
        log.exception("inbox %s failed", inbox_id)
        with rt.sessions() as session, session.begin():
            item = lock_pending(session, inbox_id)
            if item is not None:
                return _failed(rt, item, _short_trace(exc), conversation)
        return "done"
    metrics.incr(rt, "inbox_processed")
    return "done"


def _failed(rt: Runtime, item: InboxItem, error: str, conversation: str) -> str:
    """Retry later (holding the conversation) or, after the last attempt, give up."""
    metrics.incr(rt, "inbox_errors")
    if item.attempts >= rt.settings.queue.max_attempts:
        return _give_up(rt, item, error)
    delay = backoff_seconds(rt, item.attempts)
    retry_at(item, utcnow() + timedelta(seconds=delay), error)
    log.warning(
        "inbox %s attempt %s failed; %s waits %.1fs for its retry",
        item.id,
        item.attempts,
        conversation,
        delay,
    )
    return "retry"


def _give_up(rt: Runtime, item: InboxItem, error: str) -> str:
    mark_failed(item, error)
    log.error(
        "inbox %s (%s) failed for good after %s attempt(s); %s proceeds: %s",
        item.id,
        item.source,
        item.attempts,
        item.conversation,
        error,
    )
    return "failed"


def _short_trace(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
