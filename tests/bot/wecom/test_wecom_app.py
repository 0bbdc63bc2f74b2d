"""Self-built app callbacks through the simulator: member text, card clicks, enter_agent."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import select

from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from bot.wecom import app
from bot.wecom.crypto import parse_inner
from handlers.events import CardAction
from handlers.notices import MenuItem, ToWecomMember, queue_notice
from storage.models import InboxItem, Message, OutboxItem, Staff
from storage.outbox import take_new_outbox_ids
from tests.bot.wecom.conftest import AGENT_ID, CORP_ID, Directory
from tests.support import drain

FIXTURES = Path(__file__).parents[2] / "fixtures" / "wecom"
MEMBER = "wx-li"


def _staff_on_wecom(rt: Runtime, directory: Directory) -> None:
    with rt.sessions.begin() as s:
        staff = s.get(Staff, directory.staff_id)
        assert staff is not None
        staff.wecom_user_id = MEMBER
        staff.dingtalk_user_id = None  # this staff member uses WeCom only


def _inbound(rt: Runtime) -> list[Message]:
    with rt.sessions() as s:
        stmt = select(Message).where(Message.direction == "in").order_by(Message.id)
        return list(s.scalars(stmt))


def test_member_text_becomes_staff_text_and_gets_an_answer(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    _staff_on_wecom(rt, directory)
    sim.member_text(MEMBER, "帮助")
    [delivery] = sim.deliveries
    assert delivery.statuses == [200] and delivery.reply_plaintext is None
    drain(rt)
    [msg] = _inbound(rt)
    assert (msg.channel, msg.kind, msg.text, msg.sender) == ("wecom_app", "command", "帮助", MEMBER)
    answers = sim.app_messages_to(MEMBER)
    assert answers and answers[-1]["msgtype"] == "text"


def test_button_card_click_is_acked_in_the_passive_reply_and_becomes_a_card_action(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    _staff_on_wecom(rt, directory)
    with rt.sessions.begin() as s:
        buttons = (MenuItem("claim:7", "接单"), MenuItem("reject:7", "不予受理"))
        queue_notice(s, ToWecomMember((MEMBER,), "#7 路灯坏了\n城南代表联络站", buttons=buttons))
        new_ids = take_new_outbox_ids(s)
    from bot.pipeline.outbox_jobs import enqueue_send

    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    drain(rt)
    [card] = sim.app_messages_to(MEMBER)
    assert card["msgtype"] == "template_card"
    task_id = card["template_card"]["task_id"]
    assert [b["key"] for b in card["template_card"]["button_list"]] == ["claim:7", "reject:7"]

    sim.member_click_card(MEMBER, task_id, "claim:7")
    click = sim.deliveries[-1]
    assert click.ok and click.reply_plaintext and "update_button" in click.reply_plaintext
    assert sim.app_messages_to(MEMBER)[0]["replace_name"] == "已提交"

    with rt.sessions() as s:
        row = s.scalars(select(InboxItem).where(InboxItem.source == "wecom_app")).one()
    event = app.translate(parse_inner(row.payload), row.key)
    assert isinstance(event, CardAction)
    assert (event.platform, event.user_id, event.card_id, event.action) == (
        "wecom_app",
        MEMBER,
        task_id,
        "claim",
    )
    assert event.params["case_id"] == "7" and event.params["response_code"]
    drain(rt)
    [msg] = _inbound(rt)
    assert msg.kind == "card" and msg.channel == "wecom_app"
    assert len(sim.app_messages_to(MEMBER)) >= 2  # the handler's answer (no case #7 here)


def test_card_update_via_update_template_card(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    from bot.pipeline.outbox_jobs import enqueue_send
    from storage.outbox import add_outbound

    with rt.sessions.begin() as s:
        buttons = (MenuItem("confirm_notice:notice_id=3", "确认"),)
        queue_notice(s, ToWecomMember((MEMBER,), "会议通知", buttons=buttons, task_id="notice-3"))
        [card_id] = take_new_outbox_ids(s)
    enqueue_send(rt, card_id)
    drain(rt)
    with rt.sessions() as s:
        sent = s.get(OutboxItem, card_id)
        assert sent is not None and sent.status == "sent"
        code = sent.result["response_code"]  # type: ignore[index]
    with rt.sessions.begin() as s:
        add_outbound(
            s,
            channel="wecom_app",
            kind="card_update",
            payload={"userids": [MEMBER], "response_code": code, "replace_name": "已确认"},
        )
        [update_id] = take_new_outbox_ids(s)
    enqueue_send(rt, update_id)
    drain(rt)
    [card] = sim.app_messages_to(MEMBER)
    assert card["replace_name"] == "已确认"


def _enter_agent_xml(userid: str, create_time: int) -> str:
    xml = (FIXTURES / "enter_agent.xml").read_text(encoding="utf-8")
    return (
        xml.replace("[toUser]", f"[{CORP_ID}]")
        .replace("[FromUser]", f"[{userid}]")
        .replace("1408091189", str(create_time))
        .replace("<AgentID>1</AgentID>", f"<AgentID>{AGENT_ID}</AgentID>")
    )


def test_enter_agent_greets_with_help_at_most_once_a_day(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    _staff_on_wecom(rt, directory)
    now = int(time.time())
    assert sim.send_callback_raw(_enter_agent_xml(MEMBER, now)) == 200
    drain(rt)
    assert sim.send_callback_raw(_enter_agent_xml(MEMBER, now + 5)) == 200
    drain(rt)
    with rt.sessions() as s:
        recorded = s.scalars(select(InboxItem).where(InboxItem.source == "wecom_app")).all()
    assert len(recorded) == 2 and {r.status for r in recorded} == {"done"}
    [msg] = _inbound(rt)
    assert msg.text == "帮助"
    assert len(sim.app_messages_to(MEMBER)) == 1


def test_recorded_template_card_event_translates_with_raw_fields() -> None:
    inner = parse_inner((FIXTURES / "template_card_event.xml").read_text(encoding="utf-8"))
    event = app.translate(inner, "ev:FromUser:123456789:template_card_event:taskid111:key111")
    assert isinstance(event, CardAction)
    assert (event.user_id, event.card_id, event.action) == ("FromUser", "taskid111", "key111")
    assert event.params == {"response_code": "ResponseCode", "card_type": "text_notice"}
    assert event.sent_at.timestamp() == 123456789


def test_button_keys() -> None:
    assert app.parse_button_key("claim:42") == ("claim", {"case_id": "42"})
    assert app.parse_button_key("confirm_notice:notice_id=7") == (
        "confirm_notice",
        {"notice_id": "7"},
    )
    assert app.parse_button_key("help") == ("help", {})
