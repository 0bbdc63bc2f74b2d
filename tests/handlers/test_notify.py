"""Notices from staff to deputies: scope, per-deputy delivery and confirmation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers import notify, texts
from storage.models import NoticeDelivery
from tests.handlers.world import World, texts_to


def _deliveries(world: World) -> dict[int, str]:
    with world.sessions() as session:
        rows = session.scalars(select(NoticeDelivery)).all()
        return {r.deputy_id: r.status for r in rows}


def test_office_staff_notify_every_deputy_of_their_region(world: World) -> None:
    out = world.text("u-liu", "通知 海州区 周五下午三点在区人大开会，请准时参加")
    everyone = {
        world.ids[k] for k in ("zhang", "li", "zhao", "wang", "sun")
    }  # S3 is below the county
    assert set(_deliveries(world)) == everyone
    assert set(_deliveries(world).values()) == {"sent"}
    (batch,) = [s for s in out if s.kind == "oto"]
    assert sorted(batch.payload["user_ids"]) == sorted(
        ["u-zhang", "u-li", "u-zhao", "u-wang", "u-sun"]
    )
    assert batch.text == texts.notice_to_deputies(
        "工作人员刘洋", "周五下午三点在区人大开会，请准时参加"
    )
    assert texts_to(out, "u-liu") == [texts.notice_sent("海州区", 5)]
    # a deputy confirms; the second confirmation finds nothing left
    assert texts_to(world.text("u-wang", "已阅"), "u-wang") == [texts.notice_confirmed()]
    assert _deliveries(world)[world.ids["wang"]] == "confirmed"
    assert texts_to(world.text("u-wang", "确认"), "u-wang") == [texts.no_notice_to_confirm()]


def test_station_staff_may_notify_only_their_station(world: World) -> None:
    out = world.text("u-chen", "通知 城北联络站 明天上午接待群众")
    assert texts_to(out, "u-chen") == [texts.notice_not_allowed("城北联络站")]
    assert _deliveries(world) == {}
    out = world.text("u-chen", "通知 S1 明天上午接待群众")
    assert texts_to(out, "u-chen") == [texts.notice_sent("城南联络站", 3)]
    assert set(_deliveries(world)) == {world.ids[k] for k in ("zhang", "li", "zhao")}


def test_deputies_cannot_send_notices_and_unknown_targets_are_reported(world: World) -> None:
    assert texts_to(world.text("u-zhang", "通知 海州区 开会"), "u-zhang") == [
        texts.staff_only("notify")
    ]
    assert texts_to(world.text("u-liu", "通知 火星区 开会"), "u-liu") == [
        texts.notice_target_not_found("火星区")
    ]
    assert _deliveries(world) == {}


def test_cli_entry_point_and_card_confirmation(world: World) -> None:
    with world.sessions() as session, session.begin():
        result = notify.send_notice(  # as `lianxin notify --region T --text …` calls it
            session,
            world.ctx(),
            region_code="T",
            station_code=None,
            text="征集意见",
            created_by="cli",
        )
    assert result.deputies == 1 and result.target == "新坝镇"
    out = world.new_outbox()
    assert [s.payload["user_ids"] for s in out if s.kind == "oto"] == [["u-sun"]]
    assert out[0].text.endswith(texts.notice_confirm_prompt())
    world.tick(hours=1)
    from handlers.events import CardAction

    world.send(
        CardAction(
            platform="dingtalk",
            user_id="u-sun",
            platform_id="cb-notice-1",
            card_id="notice",
            action="confirm_notice",
            params={"notice_id": str(result.notice_id)},
            sent_at=world.now,
        )
    )
    with world.sessions() as session:
        (row,) = notify.delivery_status(session, result.notice_id)
    assert (row.deputy_name, row.status, row.confirmed_at) == ("孙丽", "confirmed", world.now)
    for bad in ({"region_code": "NOPE"}, {"station_code": "NOPE"}, {}):
        with world.sessions() as session, pytest.raises(LookupError):
            notify.send_notice(session, world.ctx(), text="x", **bad)
    with world.sessions() as session, session.begin():
        by_station = notify.notify_station(session, world.ctx(), station_code="S2", text="开会")
    assert (by_station.target, by_station.deputies) == ("城北联络站", 1)


@pytest.mark.parametrize(
    ("code", "signature"),
    [("T", "新坝镇人大主席团"), ("K", "海州区人大常委会"), ("C", "连云市人大常委会")],
)
def test_region_notices_are_signed_by_the_body_of_their_level(
    world: World, code: str, signature: str
) -> None:
    # a township congress has a 主席团, not a 常委会
    with world.sessions() as session, session.begin():
        notify.send_notice(session, world.ctx(), region_code=code, text="征集意见")
    texts_out = {s.text for s in world.new_outbox() if s.kind == "oto"}
    assert texts_out == {texts.notice_to_deputies(signature, "征集意见")}
