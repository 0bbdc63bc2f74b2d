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
from storage.outbox import MERGE_PREFIX, add_outbound, take_new_outbox_ids
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


def _queue_texts(rt: Runtime, key: str, texts: list[str], **extra: Any) -> list[int]:
    with rt.sessions.begin() as s:
        for n, text in enumerate(texts):
            add_outbound(
                s,
                channel="test_channel",
                kind="text",
                payload={"to": "deputy", "n": 100 + n, "text": text, "user_ids": ["u1"], **extra},
                ordering_key=f"{MERGE_PREFIX}{key}",
            )
        return take_new_outbox_ids(s)


def test_waiting_rows_of_a_merge_key_are_folded_into_the_one_sent(rt: Runtime):
    delivered.clear()
    ids = _queue_texts(rt, "supplement:7:u1", ["补充一", "补充二", "补充三"])
    enqueue_send(rt, ids[0])  # the others wait behind it, as in a burst
    _settle(rt)
    first, second, third = _rows(rt, ids)
    assert delivered == [("deputy", 100)]  # one call
    assert first.status == "sent" and first.payload["text"] == "补充一\n补充二\n补充三"
    assert (second.status, third.status) == ("merged", "merged")
    assert second.result == {"merged_into": first.id}
    # a row queued after the send is a message of its own
    [later] = _queue_texts(rt, "supplement:7:u1", ["补充四"])
    enqueue_send(rt, later)
    _settle(rt)
    assert (
        delivered == [("deputy", 100), ("deputy", 100)] and _rows(rt, [later])[0].status == "sent"
    )


def test_a_retry_sends_what_its_first_attempt_folded_and_nothing_more(rt: Runtime):
    delivered.clear()
    failures[100] = [SendError("platform busy")]
    ids = _queue_texts(rt, "supplement:8:u1", ["甲", "乙"])
    enqueue_send(rt, ids[0])
    drain(rt)  # the first attempt folds 乙 and fails
    [late] = _queue_texts(rt, "supplement:8:u1", ["丙"])
    enqueue_send(rt, late)
    _settle(rt)
    first, second, third = _rows(rt, [*ids, late])
    assert first.status == "sent" and first.payload["text"] == "甲\n乙"
    assert second.status == "merged" and third.status == "sent" and third.payload["text"] == "丙"
    assert delivered == [("deputy", 100), ("deputy", 100)]


def test_rows_with_links_or_other_recipients_are_not_folded(rt: Runtime):
    delivered.clear()
    ids = _queue_texts(rt, "supplement:9:u1", ["甲"])
    ids += _queue_texts(rt, "supplement:9:u1", ["乙"], title="带标题")
    enqueue_send(rt, ids[0])
    _settle(rt)
    assert [r.status for r in _rows(rt, ids)] == ["sent", "sent"]
    assert [r.payload["text"] for r in _rows(rt, ids)] == ["甲", "乙"]
