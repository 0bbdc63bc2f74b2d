"""A worker's send pool: rows for different recipients go out at once, one recipient's rows in
order, each exactly once; what the pool cannot take goes to rq."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select

from bot.pipeline import send_pool
from bot.pipeline.outbox_jobs import enqueue_sends, send_one
from bot.pipeline.registry import sender
from bot.queue import OUTBOUND_QUEUE
from bot.runtime import Runtime
from storage.models import OutboxItem
from storage.outbox import add_outbound, take_new_outbox_ids
from tests.support import drain

PLATFORM_LATENCY = 0.2
calls: list[tuple[str, int, float, float]] = []  # (recipient, n, started, ended)
_guard = threading.Lock()


@sender("test_pool")
def _slow_send(rt: Runtime, item: OutboxItem) -> dict[str, Any]:
    """A platform that answers every call after PLATFORM_LATENCY seconds."""
    started = time.monotonic()
    time.sleep(PLATFORM_LATENCY)
    with _guard:
        calls.append((item.payload["to"], item.payload["n"], started, time.monotonic()))
    return {"ok": True}


def _queue(rt: Runtime, messages: list[tuple[str, int]]) -> list[int]:
    with rt.sessions.begin() as s:
        for to, n in messages:
            add_outbound(
                s,
                channel="test_pool",
                kind="text",
                payload={"to": to, "n": n},
                ordering_key=f"to:{to}",
            )
        return take_new_outbox_ids(s)


def _wait_sent(rt: Runtime, ids: list[int], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.sessions() as s:
            statuses = set(s.scalars(select(OutboxItem.status).where(OutboxItem.id.in_(ids))))
        if statuses == {"sent"}:
            return
        time.sleep(0.05)
    raise AssertionError(f"not all sent: {statuses}")


def test_recipients_in_parallel_each_in_order_exactly_once(rt: Runtime) -> None:
    calls.clear()
    pool = send_pool.SendPool(rt, send_one, threads=6, backlog=100)
    send_pool.install(pool)
    try:
        # 6 recipients × 3 messages, interleaved as one inbox burst would queue them
        messages = [(f"r{r}", n) for n in range(3) for r in range(6)]
        ids = _queue(rt, messages)
        start = time.monotonic()
        enqueue_sends(rt, ids)
        _wait_sent(rt, ids)
        elapsed = time.monotonic() - start
    finally:
        send_pool.install(None)
        assert pool.close(timeout=30)
    assert rt.queue(OUTBOUND_QUEUE).count == 0  # nothing went through rq
    assert sorted((to, n) for to, n, _, _ in calls) == sorted(messages)  # each exactly once
    for r in range(6):
        mine = [c for c in calls if c[0] == f"r{r}"]
        assert [n for _, n, _, _ in sorted(mine, key=lambda c: c[2])] == [0, 1, 2]
        # a recipient's next message starts only after the previous one was answered
        for before, after in zip(mine, mine[1:], strict=False):
            assert after[2] >= before[3]
    # 18 sends of 0.2 s: one after another 3.6 s; 6 recipients at once ≈ 3 rounds
    assert elapsed < 0.6 * len(messages) * PLATFORM_LATENCY, elapsed


def test_what_the_pool_cannot_take_goes_to_rq(rt: Runtime) -> None:
    calls.clear()
    pool = send_pool.SendPool(rt, send_one, threads=1, backlog=2)
    send_pool.install(pool)
    try:
        ids = _queue(rt, [(f"q{r}", 0) for r in range(5)])
        enqueue_sends(rt, ids)
        assert rt.queue(OUTBOUND_QUEUE).count == 3  # two taken, three left for any worker
    finally:
        send_pool.install(None)
        assert pool.close(timeout=30)
    drain(rt)
    _wait_sent(rt, ids)
    assert sorted(to for to, _, _, _ in calls) == [f"q{r}" for r in range(5)]


def test_a_pool_of_another_runtime_is_not_used(rt: Runtime) -> None:
    calls.clear()
    other = Runtime(rt.settings, rt.engine, rt.sessions, rt.redis_url, rt.redis)
    pool = send_pool.SendPool(other, send_one, threads=2, backlog=10)
    send_pool.install(pool)
    try:
        ids = _queue(rt, [("z", 0)])
        enqueue_sends(rt, ids)
        assert rt.queue(OUTBOUND_QUEUE).count == 1
    finally:
        send_pool.install(None)
        pool.close(timeout=10)
    drain(rt)
    _wait_sent(rt, ids)
