"""The single entry point: idempotent per platform id, polite on any input, every event kind."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers import texts
from handlers.events import CardAction, DeliveryFailed, StaffText
from storage.models import CaseEvent, Message, Staff
from tests.handlers.world import World, texts_to, to_constituent


def _case(world: World) -> int:
    world.enter("s1")
    world.say("路灯坏了")
    return world.last_case_id()


def test_redelivered_staff_text_and_card_click_are_no_ops(world: World) -> None:
    n = _case(world)
    text = StaffText(
        platform="dingtalk",
        user_id="u-zhang",
        platform_id="m-1",
        text=f"#{n} 接单",
        sent_at=world.now,
    )
    click = CardAction(
        platform="dingtalk",
        user_id="u-li",
        platform_id="m-1",
        card_id="c",
        action="claim",
        params={"case_id": str(n)},
        sent_at=world.now,
    )
    assert texts_to(world.send(text), "u-zhang") == [texts.claim_ok(n)]
    assert world.send(text) == []
    # the same id on another kind of event is a different event
    assert texts_to(world.send(click), "u-li") == [texts.already_claimed(n, "张代表")]
    assert world.send(click) == []
    with world.sessions() as session:
        claims = session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.action == "claim"))
    assert claims == 1


def test_bad_input_gets_a_polite_reply_and_changes_nothing(world: World) -> None:
    n = _case(world)
    card = world.send(
        CardAction(
            platform="dingtalk",
            user_id="u-zhang",
            platform_id="bad-1",
            card_id="c",
            action="claim",
            params={"case_id": "abc"},
            sent_at=world.now,
        )
    )
    assert texts_to(card, "u-zhang") == [texts.hint_bad_number()]
    assert texts_to(world.click("u-zhang", "dance", n), "u-zhang") == [texts.unknown_command()]
    assert texts_to(world.text("u-zhang", ""), "u-zhang") == [texts.unknown_command()]
    assert texts_to(world.text("u-zhang", "接单"), "u-zhang") == [
        texts.hint_missing_number("claim")
    ]
    polite = [texts.ask_to_describe()]
    assert [s.text for s in to_constituent(world.say(kind="menu"))] == polite
    assert [s.text for s in to_constituent(world.tap("station:NOPE"))] == polite
    assert [s.text for s in to_constituent(world.say(kind="location"))] == polite
    assert world.case(n).status == "assigned"
    assert [e.action for e in world.events(n) if e.kind == "transition"] == ["route"]


def test_wecom_app_staff_get_their_replies_in_wecom(world: World) -> None:
    n = _case(world)
    world.add(
        Staff(
            code="ST9",
            name="钱进",
            wecom_user_id="w-qian",
            region_id=world.ids["county"],
            station_id=world.ids["s1"],
        )
    )
    out = world.send(
        StaffText(
            platform="wecom_app",
            user_id="w-qian",
            platform_id="w-1",
            text=f"#{n} 接单",
            sent_at=world.now,
        )
    )
    case = world.case(n)
    assert case.status == "accepted" and case.assignee_staff_id is not None
    members = [s for s in out if s.kind == "to_member"]
    assert [m.payload["user_ids"] for m in members] == [["w-qian"], ["w-qian"]]
    assert members[0].text == texts.claim_ok(n)
    assert members[1].text.startswith(f"#{n} 路灯坏了")  # the card, as text (no DingTalk id)


def test_delivery_failure_is_logged_and_station_staff_told(world: World) -> None:
    n = _case(world)
    out = world.send(
        DeliveryFailed(
            channel="wecom_kf",
            external_id="wm-alice",
            platform_id="fail-1",
            failed_msgid="out-77",
            fail_type=10,
        )
    )
    assert texts_to(out, "u-chen") == [texts.delivery_failed(n)]
    (event,) = [e for e in world.events(n) if e.kind == "delivery_failed"]
    assert event.payload["failed_msgid"] == "out-77"


def test_every_event_is_kept_as_an_inbound_message(world: World) -> None:
    n = _case(world)
    world.click("u-zhang", "claim", n)
    world.text("u-zhang", "帮助")
    with world.sessions() as session:
        kinds = session.scalars(select(Message.kind).order_by(Message.id)).all()
    assert kinds == ["event", "text", "card", "command"]
