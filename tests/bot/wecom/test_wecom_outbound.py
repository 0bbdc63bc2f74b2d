"""Outbound through the simulator: shared token, retries, errors, the 5-per-48 h budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select, update

from bot.pipeline.outbox_jobs import enqueue_send
from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from bot.simulators.wecom.support import TINY_PNG
from bot.wecom.client import WeComApi
from handlers.notices import MenuItem, ToConstituent, ToWecomMember, queue_notice
from storage.models import Constituent, OutboxItem
from storage.outbox import take_new_outbox_ids
from storage.timeutil import utcnow
from tests.bot.wecom.conftest import GROUP_ID, STATION_SCENE, Directory
from tests.support import drain

ALICE = "wmAliceExternal0001"
RATING = (
    MenuItem("rate:1:1:satisfied", "满意"),
    MenuItem("rate:1:1:basic", "基本满意"),
    MenuItem("rate:1:1:unsatisfied", "不满意"),
)


def settle(rt: Runtime, rounds: int = 40) -> None:
    """Run jobs until no WeCom row is due; backoff waits are skipped by moving them to now.

    DingTalk rows (staff notices) are left to their own backoff: their sender is not under
    test here and points at a closed port.
    """
    ours = OutboxItem.channel.in_(("wecom_kf", "wecom_app"))
    for _ in range(rounds):
        sweep()
        drain(rt)
        with rt.sessions.begin() as s:
            waiting = s.scalar(
                select(OutboxItem.id).where(ours, OutboxItem.status.in_(("pending", "sending")))
            )
            s.execute(
                update(OutboxItem)
                .where(ours, OutboxItem.status == "pending")
                .values(next_attempt_at=utcnow())
            )
        if waiting is None and not rt.queue("inbound").count:
            return


def queue(rt: Runtime, *notices: ToConstituent | ToWecomMember) -> list[int]:
    """Queue notices as a handler would, then enqueue their sends."""
    with rt.sessions.begin() as s:
        for notice in notices:
            queue_notice(s, notice)
        ids = take_new_outbox_ids(s)
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    return ids


def outbox(rt: Runtime, *where: ColumnElement[bool]) -> list[OutboxItem]:
    """Outbox rows in id order."""
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxItem).where(*where).order_by(OutboxItem.id)))


def kf_sends(sim: WeComSimulator) -> list[dict[str, Any]]:
    """Every kf/send_msg call the simulator received (accepted or not)."""
    return [body for path, body in sim.calls if path == "kf/send_msg"]


def alice_writes(
    sim: WeComSimulator, rt: Runtime, text: str = "路灯坏了", *, enter: bool = False
) -> Constituent:
    """Alice writes to the kf account and lianxin processes it (the case is acknowledged).

    WeCom stamps messages to the second; Alice takes a moment to type, so her message is not
    in the same second as our last send (which would then count in her new window).
    """
    sim.advance(2)
    if enter:  # from the station's QR code (a welcome, which costs no budget)
        sim.user_enter(ALICE, STATION_SCENE)
    sim.user_text(ALICE, text)
    settle(rt)
    with rt.sessions() as s:
        return s.scalars(select(Constituent).where(Constituent.external_id == ALICE)).one()


# ---------------------------------------------------------------- token


def test_the_token_is_fetched_once_and_shared_through_redis(
    sim: WeComSimulator, rt: Runtime
) -> None:
    first, second = WeComApi(rt), WeComApi(rt)  # two processes' clients
    first.post("kf/account/list", {})
    second.post("kf/account/list", {})
    assert [p for p, _ in sim.calls].count("gettoken") == 1
    keys = [k.decode() for k in rt.redis.scan_iter(f"{rt.settings.redis.queue_prefix}:wecom:*")]
    assert any(k.endswith("_access_token") for k in keys)
    assert not any(rt.settings.wecom.secret.get_secret_value()[:10] in k for k in keys)


def test_a_token_expiring_mid_run_and_a_45009_burst_still_deliver_each_message_once(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt)
    sends_before = len(kf_sends(sim))
    sim.expire_tokens()
    sim.inject("kf/send_msg", 45009, times=4)
    ids = queue(
        rt,
        ToConstituent(person.id, "第一条", purpose="info"),
        ToConstituent(person.id, "第二条", purpose="info"),
    )
    settle(rt)
    rows = outbox(rt, OutboxItem.id.in_(ids))
    assert [r.status for r in rows] == ["sent", "sent"]
    assert rows[0].attempts == 5  # four 45009 answers, then through
    texts = [m["text"]["content"] for m in sim.seen_by(ALICE) if m["msgtype"] == "text"]
    assert texts.count("第一条") == 1 and texts.count("第二条") == 1
    assert texts.index("第一条") < texts.index("第二条")
    assert [p for p, _ in sim.calls].count("gettoken") == 2  # refreshed once, not per call
    assert len(kf_sends(sim)) - sends_before == 1 + 4 + 1 + 1  # 42001, 4 × 45009, 2 sent


def test_45009_is_retryable_with_a_hint_and_the_code_is_on_the_row(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt)
    sim.inject("kf/send_msg", 45009)
    [outbox_id] = queue(rt, ToConstituent(person.id, "稍后", purpose="info"))
    drain(rt)
    [row] = outbox(rt, OutboxItem.id == outbox_id)
    assert row.status == "pending"
    assert row.last_error is not None and row.last_error.startswith("[45009] API frequency limit")
    assert (row.next_attempt_at - utcnow()).total_seconds() > 50  # WeCom blocks for 60 s


def test_final_errors_are_surfaced_with_code_and_meaning(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt)
    sim.set_session_state(ALICE, 3, "servicer1")  # a human servicer took the session
    [kf_id] = queue(rt, ToConstituent(person.id, "你好", purpose="info"))
    sim.inject("message/send", 81013)  # every recipient outside the app's visible range
    [app_id] = queue(rt, ToWecomMember(("nobody-here",), "通知"))
    settle(rt)
    kf_row, app_row = outbox(rt, OutboxItem.id.in_([kf_id, app_id]))
    assert kf_row.status == "failed" and kf_row.last_error is not None
    assert kf_row.last_error.startswith("[95018] kf: session state does not allow sending")
    assert app_row.status == "failed" and app_row.last_error is not None
    assert app_row.last_error.startswith("[81013] all recipients invalid")


# ---------------------------------------------------------------- the budget


def test_after_four_messages_the_answer_and_rating_still_go_out_and_a_sixth_is_never_tried(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt, enter=True)  # 1: the case acknowledgement
    assert len(kf_sends(sim)) == 1
    queue(
        rt,
        ToConstituent(person.id, "已转交张代表", purpose="info"),  # 2
        ToConstituent(person.id, "张代表已接单", purpose="info"),  # 3
        ToConstituent(person.id, "您的问题已登记为 #1", purpose="ack"),  # 4
    )
    settle(rt)
    assert len(kf_sends(sim)) == 4
    answer, rating = queue(
        rt,
        ToConstituent(person.id, "张代表答复（#1）：已联系城管，本周内修复", purpose="answer"),
        ToConstituent(person.id, "请您评价本次答复：", menu=RATING, purpose="rating"),
    )
    settle(rt)
    sends = kf_sends(sim)
    assert len(sends) == 5
    assert sends[-1]["msgtype"] == "msgmenu"  # the answer carries the rating menu
    assert "已联系城管" in sends[-1]["msgmenu"]["head_content"]
    assert [i["click"]["id"] for i in sends[-1]["msgmenu"]["list"]] == [m.id for m in RATING]
    answer_row, rating_row = outbox(rt, OutboxItem.id.in_([answer, rating]))
    assert answer_row.status == rating_row.status == "sent"
    assert rating_row.result == {"merged_into": answer, "spent_budget": 0}

    [sixth] = queue(rt, ToConstituent(person.id, "还有一条通知", purpose="info"))
    settle(rt)
    assert len(kf_sends(sim)) == 5  # never attempted
    [held] = outbox(rt, OutboxItem.id == sixth)
    assert held.status == "held" and "5 kf messages" in (held.last_error or "")
    [told] = outbox(rt, OutboxItem.dedupe_key.like("wecom_budget:%"))
    assert told.channel == "dingtalk" and told.payload["conversation_id"] == GROUP_ID
    assert "暂缓" in told.payload["text"]

    # Alice writes again: a new window; the held message goes out first, staff not told again
    alice_writes(sim, rt, "好的，谢谢")
    [released] = outbox(rt, OutboxItem.id == sixth)
    assert released.status == "sent"
    texts = [m.get("text", {}).get("content") for m in sim.seen_by(ALICE)]
    assert "还有一条通知" in texts
    assert len(outbox(rt, OutboxItem.dedupe_key.like("wecom_budget:%"))) == 1


def test_info_keeps_two_slots_for_the_answer_and_rating(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt)  # ack: 1 used
    ids = queue(rt, *(ToConstituent(person.id, f"通知{n}", purpose="info") for n in range(3)))
    settle(rt)
    assert [r.status for r in outbox(rt, OutboxItem.id.in_(ids))] == ["sent", "sent", "held"]
    answer, rating = queue(
        rt,
        ToConstituent(person.id, "答复", purpose="answer"),
        ToConstituent(person.id, "请评价", menu=RATING, purpose="rating"),
    )
    settle(rt)  # a held notice does not hold up the answer: it uses a slot kept for it
    assert [r.status for r in outbox(rt, OutboxItem.id.in_([answer, rating]))] == ["sent"] * 2
    assert len(kf_sends(sim)) == 4
    alice_writes(sim, rt, "在吗")  # a new window: the held notice goes out now
    [released] = outbox(rt, OutboxItem.id == ids[2])
    assert released.status == "sent"
    texts = [m.get("text", {}).get("content") for m in sim.seen_by(ALICE)]
    assert texts.count("通知2") == 1


def test_after_48_hours_the_answer_is_held_and_staff_are_told(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt, enter=True)
    with rt.sessions.begin() as s:  # Alice's last message was two days ago
        row = s.get(Constituent, person.id)
        assert row is not None and row.last_inbound_at is not None
        row.last_inbound_at = row.last_inbound_at.replace(year=2000)
    sends = len(kf_sends(sim))
    [answer] = queue(rt, ToConstituent(person.id, "答复", purpose="answer"))
    settle(rt)
    assert len(kf_sends(sim)) == sends
    [held] = outbox(rt, OutboxItem.id == answer)
    assert held.status == "held" and "48 h" in (held.last_error or "")
    [told] = outbox(rt, OutboxItem.dedupe_key.like("wecom_budget:%"))
    assert "超过 48 小时" in told.payload["text"]


# ---------------------------------------------------------------- kinds of kf messages


def test_welcome_uses_send_msg_on_event_and_spends_no_budget(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    sim.user_enter(ALICE, STATION_SCENE)
    settle(rt)
    [welcome] = sim.seen_by(ALICE)
    assert welcome["via"] == "send_msg_on_event"
    with rt.sessions() as s:
        person = s.scalars(select(Constituent).where(Constituent.external_id == ALICE)).one()
        assert person.sends_since_inbound == 0
    [row] = outbox(rt, OutboxItem.channel == "wecom_kf")
    assert row.result is not None and row.result["spent_budget"] == 0


def test_a_stale_welcome_is_dropped_not_sent_late(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt)
    seen = len(sim.seen_by(ALICE))
    with rt.sessions.begin() as s:
        queue_notice(s, ToConstituent(person.id, "欢迎", welcome_code="code-from-long-ago"))
        [outbox_id] = take_new_outbox_ids(s)
        row = s.get(OutboxItem, outbox_id)
        assert row is not None
        row.created_at = utcnow().replace(year=2000)  # the worker was down for a while
    enqueue_send(rt, outbox_id)
    settle(rt)
    [row] = outbox(rt, OutboxItem.id == outbox_id)
    assert row.status == "sent" and row.result == {
        "skipped": "welcome_code too old",
        "spent_budget": 0,
    }
    assert len(sim.seen_by(ALICE)) == seen


def test_image_is_uploaded_then_sent(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory, tmp_path: Path
) -> None:
    person = alice_writes(sim, rt)
    picture = tmp_path / "map.png"
    picture.write_bytes(TINY_PNG)
    [outbox_id] = queue(rt, ToConstituent(person.id, image_path=str(picture), purpose="info"))
    settle(rt)
    [row] = outbox(rt, OutboxItem.id == outbox_id)
    assert row.status == "sent"
    assert sim.seen_by(ALICE)[-1]["msgtype"] == "image"
    assert [p for p, _ in sim.calls].count("media/upload") == 1


def test_a_resend_after_a_crash_is_not_delivered_twice(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    person = alice_writes(sim, rt)
    [outbox_id] = queue(rt, ToConstituent(person.id, "只发一次", purpose="info"))
    settle(rt)
    with rt.sessions.begin() as s:  # the worker died after WeCom accepted, before recording
        row = s.get(OutboxItem, outbox_id)
        assert row is not None
        row.status, row.lease_until = "sending", utcnow().replace(year=2000)
    settle(rt)
    texts = [m.get("text", {}).get("content") for m in sim.seen_by(ALICE)]
    assert texts.count("只发一次") == 1
    [row] = outbox(rt, OutboxItem.id == outbox_id)
    assert row.status == "sent"


def test_app_text_markdown_and_card(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    queue(
        rt,
        ToWecomMember(("wx-li",), "纯文本"),
        ToWecomMember(("wx-li",), "**加粗**", markdown=True),
        ToWecomMember(("wx-li",), "#3 标题\n内容", buttons=(MenuItem("claim:3", "接单"),)),
    )
    settle(rt)
    got = sim.app_messages_to("wx-li")
    assert [m["msgtype"] for m in got] == ["text", "markdown", "template_card"]
    card = got[2]["template_card"]
    assert card["main_title"]["title"] == "#3 标题" and card["sub_title_text"] == "内容"


def test_a_constituent_reached_through_the_app_gets_plain_text(
    sim: WeComSimulator, lianxin: str, rt: Runtime
) -> None:
    with rt.sessions.begin() as s:
        person = Constituent(channel="wecom_app", external_id="wx-wang", sends_since_inbound=0)
        s.add(person)
        s.flush()
        person_id = person.id
    queue(rt, ToConstituent(person_id, "请评价：", menu=RATING[:2], menu_tail="谢谢"))
    settle(rt)
    [got] = sim.app_messages_to("wx-wang")
    assert got["text"]["content"] == "请评价：\n· 满意\n· 基本满意\n谢谢"
