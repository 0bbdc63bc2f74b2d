"""Inbound path: record once (deduped), wake, process once; survives Redis being down."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import queue as q
from bot.pipeline import wake
from bot.pipeline.inbox_jobs import process_inbox
from bot.pipeline.ingest import ReplayedNonce, ingest
from bot.pipeline.registry import processor
from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from storage.models import InboxItem, KeyValue
from tests.support import RedisServer, drain

SOURCE = "test_counter"


@processor(SOURCE)
def _count(rt: Runtime, session: Session, item: InboxItem) -> None:
    """A processor whose effect can be counted: one KeyValue row per processed event."""
    session.add(KeyValue(key=f"seen:{item.key}", value=item.payload))


def _inbox_rows(rt: Runtime, key: str) -> list[InboxItem]:
    with rt.sessions() as s:
        return list(s.scalars(select(InboxItem).where(InboxItem.key == key)))


def test_duplicate_is_recorded_once_and_processed_once(rt: Runtime):
    assert ingest(rt, source=SOURCE, key="m1", payload="hello") is True
    assert ingest(rt, source=SOURCE, key="m1", payload="hello") is False
    assert wake.flush_all()
    assert rt.queue(q.INBOUND_QUEUE).count == 1  # one wake-up: the duplicate woke nobody
    drain(rt)
    [row] = _inbox_rows(rt, "m1")
    assert row.status == "done" and row.attempts == 1
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(KeyValue)) == 1


def test_two_threads_same_key_one_row_one_job(rt: Runtime):
    for attempt in range(5):
        key = f"race-{attempt}"
        barrier = threading.Barrier(2)
        results: list[bool] = []

        def record(
            key: str = key, barrier: threading.Barrier = barrier, results: list[bool] = results
        ) -> None:
            barrier.wait()
            results.append(ingest(rt, source=SOURCE, key=key, payload="x"))

        threads = [threading.Thread(target=record) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False, True]
        assert len(_inbox_rows(rt, key)) == 1
    assert wake.flush_all()
    assert rt.queue(q.INBOUND_QUEUE).count == 5


def test_redis_down_event_recorded_then_processed_when_back(rt: Runtime, tmp_path: Path):
    server = RedisServer(tmp_path / "redis")
    server.start()
    down_rt = Runtime(
        rt.settings, rt.engine, rt.sessions, server.url, q.connect(server.url, fast_fail=True)
    )
    server.stop()

    assert ingest(down_rt, source=SOURCE, key="while-down", payload="p") is True
    [row] = _inbox_rows(rt, "while-down")
    assert row.status == "pending"

    server.start()
    try:
        from bot import runtime as runtime_mod

        runtime_mod.install(down_rt)
        # received_at must be older than the sweep grace period before the sweeper touches it
        with rt.sessions.begin() as s:
            s.get(InboxItem, row.id).received_at = row.received_at.replace(year=2000)
        assert sweep()["inbox"] == 1
        drain(down_rt)
        [row] = _inbox_rows(rt, "while-down")
        assert row.status == "done"
        assert sweep()["inbox"] == 0
    finally:
        runtime_mod.install(rt)
        server.stop()


def test_failing_processor_keeps_row_pending_then_fails_for_good(rt: Runtime):
    rt.settings.queue.backoff_base_seconds = rt.settings.queue.backoff_max_seconds = 600.0

    @processor("test_broken")
    def _broken(rt: Runtime, session: Session, item: InboxItem) -> None:
        session.add(KeyValue(key="must-not-stay", value="x"))
        raise RuntimeError("boom")

    ingest(rt, source="test_broken", key="b1", payload="x")
    drain(rt)
    [row] = _inbox_rows(rt, "b1")
    assert row.status == "pending" and row.attempts == 1 and "boom" in (row.last_error or "")
    with rt.sessions() as s:
        assert s.get(KeyValue, "must-not-stay") is None  # effects rolled back
    for attempt in range(2, rt.settings.queue.max_attempts + 1):
        assert process_inbox(row.id) == "idle=1"  # still backing off: nobody may take it
        _backoff_over(rt, row.id)
        process_inbox(row.id)
        [row] = _inbox_rows(rt, "b1")
        assert row.attempts == attempt
    assert row.status == "failed"


def _backoff_over(rt: Runtime, inbox_id: int) -> None:
    """Let a failed row's retry time pass (instead of waiting it out)."""
    with rt.sessions.begin() as s:
        item = s.get(InboxItem, inbox_id)
        assert item is not None and item.lease_until is not None
        item.lease_until = item.lease_until.replace(year=2000)


def _nonce_of(rt: Runtime, key: str) -> str | None:
    [row] = _inbox_rows(rt, key)
    return row.nonce


def test_nonces_older_than_a_day_are_forgotten_and_recent_ones_kept(rt: Runtime):
    from datetime import timedelta

    from sqlalchemy import update

    from bot.pipeline.sweeper import forget_old_nonces
    from storage.timeutil import utcnow

    assert ingest(rt, source=SOURCE, key="old", payload="x", nonce="1700000000:aaa")
    assert ingest(rt, source=SOURCE, key="new", payload="x", nonce="1700000001:bbb")
    with rt.sessions.begin() as s:
        s.execute(
            update(InboxItem)
            .where(InboxItem.key == "old")
            .values(received_at=utcnow() - timedelta(days=2))
        )
    rt.settings.wecom.replay_window_seconds = 0  # no window: the nonce is the only guard
    assert forget_old_nonces() == 0 and _nonce_of(rt, "old") == "1700000000:aaa"
    rt.settings.wecom.replay_window_seconds = 300
    assert forget_old_nonces() == 1
    assert _nonce_of(rt, "old") is None and _nonce_of(rt, "new") == "1700000001:bbb"
    # the forgotten nonce no longer blocks anything; the kept one still refuses a replay
    assert ingest(rt, source=SOURCE, key="later", payload="x", nonce="1700000000:aaa")
    with pytest.raises(ReplayedNonce):
        ingest(rt, source=SOURCE, key="replay", payload="x", nonce="1700000001:bbb")


def test_insert_on_a_connection_the_server_dropped_is_retried_on_a_fresh_one(rt: Runtime):
    from sqlalchemy import event, text

    from bot.pipeline.ingest import ack_engine
    from storage.db import IDLE_PING_SECONDS, is_postgres

    if not is_postgres(rt.engine):
        pytest.skip("SQLite connections are not dropped by a server")
    assert ingest(rt, source=SOURCE, key="before", payload="x")  # a pooled ack connection
    with rt.engine.connect() as conn:  # the server ends the ack path's pooled session
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    invalidated: list[object] = []
    event.listen(ack_engine(rt), "invalidate", lambda *args: invalidated.append(args))
    assert ingest(rt, source=SOURCE, key="after", payload="x")
    time.sleep(IDLE_PING_SECONDS)  # the test's own pooled connections are pinged after a rest
    assert len(_inbox_rows(rt, "after")) == 1
    assert len(invalidated) == 1  # the dead connection was seen, dropped and replaced
