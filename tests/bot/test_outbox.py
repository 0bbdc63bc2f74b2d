"""Outbound path: sent once, retried with backoff, in order per recipient, held, failed."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.pipeline.outbox_jobs import enqueue_send
from bot.pipeline.registry import HoldSend, SendError, sender
from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from storage.models import OutboxItem
from storage.outbox import add_outbound, take_new_outbox_ids
from storage.timeutil import utcnow
from tests.support import drain

delivered: list[tuple[str, int]] = []
failures: dict[int, list[SendError | HoldSend]] = {}


@sender("test_channel")
def _send(rt: Runtime, item: OutboxItem) -> dict[str, Any]:
    """A platform edge that fails on demand and records what it delivered."""
    planned = failures.get(item.payload["n"])
    if planned:
        raise planned.pop(0)
    delivered.append((item.payload["to"], item.payload["n"]))
    return {"msgid": f"m{item.payload['n']}"}


def _queue(rt: Runtime, *messages: tuple[str, int]) -> list[int]:
    with rt.sessions.begin() as s:
        for to, n in messages:
            add_outbound(
                s,
                channel="test_channel",
                kind="text",
                payload={"to": to, "n": n},
                ordering_key=f"to:{to}",
            )
        ids = take_new_outbox_ids(s)
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    return ids


def _rows(rt: Runtime, ids: list[int]) -> list[OutboxItem]:
    with rt.sessions() as s:
        stmt = select(OutboxItem).where(OutboxItem.id.in_(ids)).order_by(OutboxItem.id)
        return list(s.scalars(stmt))


def _settle(rt: Runtime, rounds: int = 30) -> None:
    """Run jobs and the sweeper until nothing is due (backoff is ~0.1 s in tests)."""
    for _ in range(rounds):
        drain(rt)
        with rt.sessions() as s:
            waiting = s.scalar(select(OutboxItem.id).where(OutboxItem.status == "pending"))
        if waiting is None:
            return
        time.sleep(0.1)
        sweep()


def setup_function() -> None:
    delivered.clear()
    failures.clear()


def test_sent_once_with_result(rt: Runtime):
    ids = _queue(rt, ("a", 1))
    _settle(rt)
    enqueue_send(rt, ids[0])  # a stray duplicate job must not send again
    drain(rt)
    [row] = _rows(rt, ids)
    assert row.status == "sent" and row.attempts == 1 and row.result == {"msgid": "m1"}
    assert delivered == [("a", 1)]


def test_retryable_errors_back_off_then_succeed_in_order(rt: Runtime):
    failures[1] = [SendError("busy", code=-1), SendError("limit", code=45009)]
    ids = _queue(rt, ("a", 1), ("a", 2), ("b", 3))
    _settle(rt)
    rows = _rows(rt, ids)
    assert [r.status for r in rows] == ["sent", "sent", "sent"]
    assert rows[0].attempts == 3
    assert [n for to, n in delivered if to == "a"] == [1, 2]  # 2 waited for 1
    assert ("b", 3) in delivered


def test_permanent_error_fails_and_releases_followers(rt: Runtime):
    failures[1] = [SendError("invalid user", code=81013, retryable=False)]
    ids = _queue(rt, ("a", 1), ("a", 2))
    _settle(rt)
    rows = _rows(rt, ids)
    assert [r.status for r in rows] == ["failed", "sent"]
    assert rows[0].last_error == "[81013] invalid user"


def test_gives_up_after_max_attempts(rt: Runtime):
    failures[1] = [SendError("down", code=502) for _ in range(20)]
    ids = _queue(rt, ("a", 1))
    _settle(rt, rounds=60)
    [row] = _rows(rt, ids)
    assert row.status == "failed" and row.attempts == rt.settings.queue.max_attempts


def test_held_row_waits_but_does_not_block_its_followers(rt: Runtime):
    failures[1] = [HoldSend("48h budget spent")]
    ids = _queue(rt, ("a", 1), ("a", 2))
    _settle(rt)
    assert [r.status for r in _rows(rt, ids)] == ["held", "sent"]
    assert delivered == [("a", 2)]


def test_crashed_sender_lease_expires_and_sweeper_resends(rt: Runtime):
    ids = _queue(rt, ("a", 1))
    with rt.sessions.begin() as s:  # as if a worker leased the row and was killed
        row = s.get(OutboxItem, ids[0])
        row.status, row.attempts = "sending", 1
        row.lease_until = utcnow() - timedelta(seconds=1)
    rt.queue("outbound").empty()
    assert sweep()["outbox"] == 1
    _settle(rt)
    [row] = _rows(rt, ids)
    assert row.status == "sent" and delivered == [("a", 1)]
