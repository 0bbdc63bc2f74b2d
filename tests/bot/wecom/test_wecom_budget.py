"""The kf budget counts by message, not by whole-second clocks (a replay of the same second)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from bot.runtime import Runtime
from bot.wecom import budget
from handlers.notices import MenuItem, ToConstituent, queue_notice
from storage.models import Constituent, OutboxItem
from storage.timeutil import utcnow


def _person(rt: Runtime) -> int:
    with rt.sessions.begin() as s:
        person = Constituent(channel="wecom_kf", external_id="wmSameSecond", sends_since_inbound=0)
        s.add(person)
        s.flush()
        return person.id


def _writes(rt: Runtime, cid: int, msgid: str, stamp: object) -> None:
    """The constituent's kf message `msgid`, stamped `stamp` by WeCom, is processed now."""
    with rt.sessions.begin() as s:
        person = s.get(Constituent, cid)
        assert person is not None
        budget.on_inbound(s, person, stamp, person.last_inbound_at, msgid)  # type: ignore[arg-type]


def _we_send(rt: Runtime, cid: int, purpose: str, finished: object) -> budget.Verdict:
    """One kf message reserved as the sender does, then recorded sent at `finished`."""
    with rt.sessions.begin() as s:
        row = queue_notice(s, ToConstituent(cid, f"{purpose} 消息", purpose=purpose))  # type: ignore[arg-type]
        s.flush()
        s.expunge(row)
    verdict = budget.reserve(rt, row, 1, purpose)
    assert verdict.ok, verdict.reason
    with rt.sessions.begin() as s:
        stored = s.get(OutboxItem, row.id)
        assert stored is not None
        stored.status, stored.sent_at = "sent", finished  # type: ignore[assignment]
        stored.result = {"msgids": [f"lx{row.id}"], "spent_budget": 1, "window": verdict.window}
    return verdict


def _usage(rt: Runtime, cid: int) -> tuple[int, int]:
    with rt.sessions() as s:
        person = s.get(Constituent, cid)
        assert person is not None
        return budget.usage(person)


def _judge(rt: Runtime, cid: int, purpose: str, units: int) -> budget.Verdict:
    with rt.sessions() as s:
        person = s.get(Constituent, cid)
        assert person is not None
        return budget.judge(person, purpose, units, utcnow())


def test_a_message_and_our_sends_in_the_same_second_count_two_not_four(rt: Runtime) -> None:
    cid = _person(rt)
    second = utcnow().replace(microsecond=0)  # WeCom's stamp: whole seconds
    _writes(rt, cid, "from_msgid_1", second)
    first = _we_send(rt, cid, "ack", second + timedelta(milliseconds=300))
    _we_send(rt, cid, "info", second + timedelta(milliseconds=600))
    assert first.window == "from_msgid_1"  # the send is booked against the message by its id
    assert _usage(rt, cid) == (2, 0)

    # a second message in the very same second, processed after our two sends: WeCom's
    # stamp cannot say whether they came before it, so they are "maybe", not counted twice
    _writes(rt, cid, "from_msgid_2", second)
    assert _usage(rt, cid) == (0, 2)
    reply = _we_send(rt, cid, "info", second + timedelta(milliseconds=900))
    _we_send(rt, cid, "ack", second + timedelta(milliseconds=950))
    assert reply.window == "from_msgid_2"
    assert _usage(rt, cid) == (2, 2)  # 2 of 5 used (the old clock comparison said 4)

    # an answer with its picture (two messages) still goes out; only low-priority
    # messages stay cautious about the two that may count
    assert _judge(rt, cid, "answer", 2).ok
    assert _judge(rt, cid, "rating", 3).ok
    held = _judge(rt, cid, "info", 1)
    assert not held.ok and "2 of 5 kf messages" in held.reason and "+2 maybe" in held.reason


def test_sends_well_after_the_stamp_count_and_earlier_ones_do_not(rt: Runtime) -> None:
    cid = _person(rt)
    start = utcnow().replace(microsecond=0) - timedelta(seconds=30)
    _writes(rt, cid, "from_msgid_a", start)
    _we_send(rt, cid, "ack", start + timedelta(seconds=1))  # long before the next message
    later = start + timedelta(seconds=20)
    _we_send(rt, cid, "info", later + timedelta(seconds=5))  # WeCom had it before we pulled
    _writes(rt, cid, "from_msgid_b", later)
    assert _usage(rt, cid) == (1, 0)


def test_a_late_message_does_not_move_the_window_back(rt: Runtime) -> None:
    cid = _person(rt)
    now = utcnow().replace(microsecond=0)
    _writes(rt, cid, "from_msgid_new", now)
    _we_send(rt, cid, "ack", now + timedelta(milliseconds=100))
    _writes(rt, cid, "from_msgid_old", now - timedelta(seconds=5))
    with rt.sessions() as s:
        person = s.get(Constituent, cid)
        assert person is not None and person.window_msgid == "from_msgid_new"
    assert _usage(rt, cid) == (1, 0)


def test_wecom_saying_95001_is_believed(rt: Runtime) -> None:
    cid = _person(rt)
    now = utcnow().replace(microsecond=0)
    _writes(rt, cid, "from_msgid_x", now)
    with rt.sessions() as s:
        row = s.scalars(select(OutboxItem)).first()
    assert row is None
    with rt.sessions.begin() as s:
        item = queue_notice(s, ToConstituent(cid, "答复", purpose="answer"))
        s.flush()
        s.expunge(item)
    budget.exhausted(rt, item, budget.Verdict(False, "budget full: [95001]"))
    assert _usage(rt, cid)[0] == budget.LIMIT
    assert not _judge(rt, cid, "answer", 1).ok


def test_a_tap_on_our_menu_comes_after_everything_sent_up_to_that_menu(rt: Runtime) -> None:
    cid = _person(rt)
    second = utcnow().replace(microsecond=0)
    _writes(rt, cid, "from_msgid_1", second)
    _we_send(rt, cid, "info", second + timedelta(milliseconds=100))
    with rt.sessions.begin() as s:  # the answer, and its rating menu merged into it
        answer = queue_notice(s, ToConstituent(cid, "答复", purpose="answer"))
        menu = queue_notice(
            s,
            ToConstituent(cid, "请评价", menu=(MenuItem("rate:1:1:ok", "满意"),), purpose="rating"),
        )
        answer.status, answer.sent_at = "sent", second + timedelta(milliseconds=200)
        answer.result = {"msgids": [f"lx{answer.id}"], "spent_budget": 1}
        menu.status, menu.sent_at = "sent", second + timedelta(milliseconds=200)
        menu.result = {"merged_into": answer.id, "spent_budget": 0}
    with rt.sessions.begin() as s:
        person = s.get(Constituent, cid)
        assert person is not None
        budget.on_inbound(s, person, second, second, "from_msgid_2", "rate:1:1:ok")
    assert _usage(rt, cid) == (0, 0)  # the tap answers our menu: all of it came before
    assert _judge(rt, cid, "info", 3).ok


def test_a_long_old_history_is_not_read_back_and_an_old_held_row_is_still_released(
    rt: Runtime,
) -> None:
    cid = _person(rt)
    now = utcnow().replace(microsecond=0)
    _writes(rt, cid, "from_msgid_a", now - timedelta(seconds=60))
    with rt.sessions.begin() as s:  # a year of sent messages, and one held since last month
        old = [
            queue_notice(s, ToConstituent(cid, f"旧消息 {n}", purpose="info"))  # type: ignore[arg-type]
            for n in range(200)
        ]
        held = queue_notice(s, ToConstituent(cid, "暂存的答复", purpose="answer"))  # type: ignore[arg-type]
        s.flush()
        for n, row in enumerate(old):
            row.status, row.sent_at = "sent", now - timedelta(days=3 + n)
            row.result = {"msgids": [f"lx{row.id}"], "spent_budget": 1}
        held.status = "held"
        old_ids, held_id = [row.id for row in old], held.id
    _we_send(rt, cid, "ack", now + timedelta(seconds=5))  # WeCom had the next message first
    with rt.sessions.begin() as s:
        person = s.get(Constituent, cid)
        assert person is not None
        loaded: set[int] = set()
        event.listen(s, "loaded_as_persistent", lambda _s, obj: loaded.add(obj.id))
        released = budget.on_inbound(s, person, now, person.last_inbound_at, "from_msgid_b")
    assert released == [held_id]
    assert _usage(rt, cid) == (1, 0)
    assert not loaded & set(old_ids)  # sent before the window: never read back
