"""Claiming in conversation order: the head only, one holder, failures hold only their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.pipeline.inbox_jobs import process_conversation, process_inbox
from bot.pipeline.ingest import ingest
from bot.pipeline.registry import processor
from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from storage.db import is_postgres
from storage.inbox import claim_head
from storage.models import InboxItem, KeyValue
from storage.timeutil import utcnow
from tests.support import drain

SOURCE = "test_ordered"


@processor(SOURCE)
def _append(rt: Runtime, session: Session, item: InboxItem) -> None:
    """Append the row's key to its conversation's log; payload "fail" raises instead."""
    if item.payload == "fail":
        raise RuntimeError("this row always fails")
    if item.payload == "overtaken" and item.attempts == 1:
        _take_over(rt, item)
    row = session.get(KeyValue, f"log:{item.conversation}")
    if row is None:
        session.add(KeyValue(key=f"log:{item.conversation}", value=item.key))
    else:  # read-modify-write: two rows of one conversation at once would lose an update
        row.value += f",{item.key}"


def _take_over(rt: Runtime, item: InboxItem) -> None:
    """While this worker runs, its lease runs out and another worker claims the row."""
    with rt.sessions.begin() as other:
        row = other.get(InboxItem, item.id)
        assert row is not None
        row.lease_until = utcnow() - timedelta(seconds=1)
    with rt.sessions.begin() as other:
        assert claim_head(other, item.conversation, timedelta(minutes=5), skip_locked=True)


def _log(rt: Runtime, conversation: str) -> list[str]:
    with rt.sessions() as s:
        row = s.get(KeyValue, f"log:{conversation}")
        return row.value.split(",") if row else []


def _record(rt: Runtime, conversation: str, keys: list[str], payload: str = "ok") -> None:
    for key in keys:
        assert ingest(rt, source=SOURCE, key=key, payload=payload, conversation=conversation)


def _status(rt: Runtime, key: str) -> str:
    with rt.sessions() as s:
        return s.scalars(select(InboxItem.status).where(InboxItem.key == key)).one()


def _hold(rt: Runtime, conversation: str) -> int:
    """Claim the head of `conversation` as another worker would (and keep it)."""
    with rt.sessions.begin() as s:
        item = claim_head(s, conversation, timedelta(minutes=5), skip_locked=False)
        assert item is not None
        return item.id


def test_any_wake_up_processes_the_conversation_from_its_oldest_row(rt: Runtime) -> None:
    _record(rt, "c1", ["a1", "a2", "a3"])
    with rt.sessions() as s:
        last = s.scalars(select(InboxItem.id).where(InboxItem.key == "a3")).one()
    process_inbox(last)  # the wake-up of the newest row
    assert _log(rt, "c1") == ["a1", "a2", "a3"]


def test_a_held_conversation_is_left_to_its_holder_and_others_proceed(rt: Runtime) -> None:
    _record(rt, "c1", ["a1", "a2"])
    _record(rt, "c2", ["b1"])
    held = _hold(rt, "c1")
    assert process_conversation("c1") == "idle=1"  # a1 is held: a2 must not overtake it
    assert _status(rt, "a2") == "pending"
    process_conversation("c2")
    assert _log(rt, "c2") == ["b1"]
    with rt.sessions.begin() as s:  # the holder dies; its lease runs out
        item = s.get(InboxItem, held)
        assert item is not None and item.lease_until is not None
        item.lease_until -= timedelta(minutes=10)
        item.received_at -= timedelta(minutes=10)
    assert sweep()["inbox"] == 1  # the sweeper wakes c1 again
    drain(rt)
    assert _log(rt, "c1") == ["a1", "a2"]


def test_a_failing_row_holds_back_only_its_own_conversation(rt: Runtime) -> None:
    rt.settings.queue.max_attempts = 3
    rt.settings.queue.backoff_base_seconds = rt.settings.queue.backoff_max_seconds = 600.0
    _record(rt, "c1", ["bad"], payload="fail")
    _record(rt, "c1", ["after-bad"])
    _record(rt, "c2", ["b1", "b2"])
    drain(rt)
    assert _status(rt, "bad") == "pending" and _status(rt, "after-bad") == "pending"
    assert _log(rt, "c2") == ["b1", "b2"]
    for _ in range(2):  # its backoff passes twice more: the last attempt fails for good
        with rt.sessions.begin() as s:
            item = s.scalars(select(InboxItem).where(InboxItem.key == "bad")).one()
            assert item.lease_until is not None
            item.lease_until -= timedelta(hours=1)
        process_conversation("c1")
    assert _status(rt, "bad") == "failed"
    assert _log(rt, "c1") == ["after-bad"]  # the conversation went on after the failure


def test_interleaved_conversations_each_keep_their_order(rt: Runtime) -> None:
    for n in range(10):
        for conv in ("x", "y", "z"):
            _record(rt, conv, [f"{conv}{n}"])
    for conv in ("z", "x", "y"):  # wake-ups in any order
        process_conversation(conv)
    for conv in ("x", "y", "z"):
        assert _log(rt, conv) == [f"{conv}{n}" for n in range(10)]


def test_postgres_skips_a_head_being_claimed_instead_of_taking_the_row_behind(
    rt: Runtime,
) -> None:
    if not is_postgres(rt.engine):
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite has a single writer")
    _record(rt, "c1", ["a1", "a2"])
    lease = timedelta(minutes=1)
    first, second = rt.sessions(), rt.sessions()
    try:
        with first.begin():
            taken = claim_head(first, "c1", lease, skip_locked=True)
            assert taken is not None and taken.key == "a1"
            # a second worker claims while the first one's claim is not committed yet
            with second.begin():
                assert claim_head(second, "c1", lease, skip_locked=True) is None
        with second.begin():  # committed: a1 is leased, so still nothing for another worker
            assert claim_head(second, "c1", lease, skip_locked=True) is None
    finally:
        first.close()
        second.close()


def test_a_worker_overtaken_after_its_lease_ran_out_commits_nothing(rt: Runtime) -> None:
    if not is_postgres(rt.engine):
        pytest.skip("SQLite's single writer keeps another worker out while this one processes")
    _record(rt, "c1", ["slow"], payload="overtaken")
    assert process_conversation("c1") == "done=1 idle=1"  # the row is the other worker's now
    assert _log(rt, "c1") == [] and _status(rt, "slow") == "pending"
    with rt.sessions.begin() as s:  # that worker dies too; its lease runs out
        item = s.scalars(select(InboxItem).where(InboxItem.key == "slow")).one()
        assert item.attempts == 2 and item.lease_until is not None
        item.lease_until = utcnow() - timedelta(seconds=1)
    process_conversation("c1")
    assert _log(rt, "c1") == ["slow"] and _status(rt, "slow") == "done"  # once, not twice
