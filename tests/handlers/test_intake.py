"""Journey 1 (intake): one message opens and acknowledges a case; follow-ups, media, menus."""

from __future__ import annotations

from sqlalchemy import select

from handlers.caselog import replayed_status
from storage.models import Case, Constituent, Message
from tests.handlers.world import World, texts_to, to_constituent


def test_first_message_opens_a_case_acknowledged_in_one_message(world: World) -> None:
    world.enter("s1")
    out = world.say("小区门口路灯坏了一个月了")
    n = world.last_case_id()
    acks = to_constituent(out)
    assert len(acks) == 1
    assert acks[0].purpose == "ack"
    assert f"#{n}" in acks[0].text
    assert "城南联络站" in acks[0].text and "张代表" in acks[0].text
    assert "3 个工作日" in acks[0].text and "新问题" in acks[0].text
    # the card goes to the station group @-mentioning the deputy on duty, and to their 1:1
    posts = [(s.payload["space"], s.payload["at_user_ids"]) for s in out if s.kind == "card_post"]
    assert posts == [("group:cid-s1;user:u-zhang", ["u-zhang"])]  # one card in both spaces
    case = world.case(n)
    assert case.status == "assigned"
    assert case.text == "小区门口路灯坏了一个月了"
    assert case.assignee_deputy_id == world.ids["zhang"]
    assert case.claim_due_at is not None and case.answer_due_at is not None
    kinds = [(e.kind, e.action) for e in world.events(n)]
    assert kinds == [("opened", None), ("insight", None), ("transition", "route")]


def test_photo_right_after_the_text_joins_silently_and_later_follow_ups_are_acked(
    world: World,
) -> None:
    world.enter("s1")
    world.say("小区门口路灯坏了一个月了")
    n = world.last_case_id()
    world.tick(seconds=20)
    out = world.say(kind="image", media_path="/var/media/p1.jpg")
    assert to_constituent(out) == []  # same burst: the ack already covered it
    assert any("图片" in t for t in texts_to(out, "u-zhang"))
    assert any(s.kind == "card_refresh" for s in out)
    world.tick(hours=2)
    out = world.say("晚上七点以后整条路都是黑的")
    assert [s.text for s in to_constituent(out)] == [f"已将您补充的内容并入问题 #{n}，谢谢。"]
    assert texts_to(out, "u-zhang") == [f"群众补充（#{n}）：晚上七点以后整条路都是黑的"]
    with world.sessions() as session:
        msgs = session.scalars(select(Message).where(Message.case_id == n)).all()
        assert sorted(m.kind for m in msgs) == ["image", "text", "text"]
    assert world.last_case_id() == n


def test_new_problem_keyword_opens_another_case(world: World) -> None:
    world.enter("s1")
    world.say("路灯坏了")
    first = world.last_case_id()
    out = world.say("新问题")
    assert [s.text for s in to_constituent(out)] == [
        "好的，请直接描述您要反映的新问题，也可以附上照片或位置。"
    ]
    assert world.last_case_id() == first
    world.say("垃圾桶满了没人清")
    second = world.last_case_id()
    assert second != first
    assert world.case(second).text == "垃圾桶满了没人清"
    # 新问题 with the description in the same message opens at once
    world.say("新问题：楼道灯也坏了")
    third = world.last_case_id()
    assert third not in (first, second)
    assert world.case(third).text == "楼道灯也坏了"
    # a plain follow-up joins the newest open case
    world.tick(hours=1)
    world.say("补充一下")
    with world.sessions() as session:
        last = session.scalars(select(Message).order_by(Message.id.desc())).first()
        assert last is not None and last.case_id == third


def test_sticker_or_empty_message_gets_a_polite_request(world: World) -> None:
    world.enter("s1")
    for out in (world.say(kind="other"), world.say("   ")):
        assert [s.text for s in to_constituent(out)] == [
            "抱歉，暂时无法识别这条消息。请用文字描述您遇到的问题，也可以附上照片或位置，谢谢。"
        ]
    with world.sessions() as session:
        assert session.scalars(select(Case)).first() is None


def test_without_a_scene_the_ack_offers_the_stations_as_a_menu(world: World) -> None:
    out = world.say("河道有人偷排污水")
    n = world.last_case_id()
    (ack,) = to_constituent(out)
    assert ack.purpose == "ack" and f"#{n}" in ack.text
    assert [m["id"] for m in ack.payload["menu"]] == ["station:S1", "station:S2", "station:S3"]
    assert world.case(n).status == "new"
    out = world.tap("station:S2", text="城北联络站")
    (ack2,) = to_constituent(out)
    assert "城北联络站" in ack2.text and "王代表" in ack2.text and ack2.purpose == "ack"
    case = world.case(n)
    assert (case.status, case.assignee_deputy_id) == ("assigned", world.ids["wang"])
    route = [e for e in world.events(n) if e.action == "route"][0]
    assert route.payload["station_source"] == "menu"
    # the choice is remembered for the next case
    world.say("新问题 路口红绿灯不亮")
    assert world.case(world.last_case_id()).station_id == world.ids["s2"]


def test_shared_location_picks_the_nearest_station_and_attaches_to_the_case(world: World) -> None:
    out = world.say(kind="location", lat=34.69, lng=119.21, location_label="海州区解放路12号")
    assert [s.text for s in to_constituent(out)] == [
        "已根据您的位置为您匹配 城北联络站，请描述您要反映的问题。"
    ]
    world.tick(seconds=30)
    world.say("这里的井盖丢了")
    n = world.last_case_id()
    case = world.case(n)
    assert case.station_id == world.ids["s2"]
    assert (case.lat, case.lng, case.location_label) == (34.69, 119.21, "海州区解放路12号")


def test_location_after_an_unrouted_case_routes_it(world: World) -> None:
    world.say("公园里的健身器材坏了")
    n = world.last_case_id()
    world.tick(minutes=1)
    out = world.say(kind="location", lat=34.61, lng=119.19, location_label="城南公园")
    case = world.case(n)
    assert case.station_id == world.ids["s1"] and case.status == "assigned"
    assert case.location_label == "城南公园"
    assert any("城南联络站" in s.text for s in to_constituent(out))
    route = [e for e in world.events(n) if e.action == "route"][0]
    assert route.payload["station_source"] == "location"


def test_door_plate_scene_sets_the_plate_and_enter_routes_a_pending_case(world: World) -> None:
    world.enter("p88", who="wm-bob", scene_param="幸福小区3栋2单元")
    world.say("电梯经常停", who="wm-bob")
    assert world.case(world.last_case_id()).plate == "幸福小区3栋2单元"
    # a case opened without a scene is routed when the constituent comes back through a QR code
    world.say("噪音扰民", who="wm-carol")
    n = world.last_case_id()
    out = world.enter("s2", who="wm-carol")
    assert world.case(n).station_id == world.ids["s2"]
    assert any("城北联络站" in s.text for s in to_constituent(out))


def test_welcome_code_gets_a_greeting_outside_the_quota(world: World) -> None:
    from handlers.events import ConstituentEntered

    out = world.send(
        ConstituentEntered(
            channel="wecom_kf",
            external_id="wm-dan",
            platform_id="kf-welcome-1",
            sent_at=world.now,
            scene="s1",
            welcome_code="wc-1",
        )
    )
    (greet,) = to_constituent(out)
    assert greet.payload["welcome_code"] == "wc-1" and "城南联络站" in greet.text


def test_a_redelivered_event_is_a_no_op(world: World) -> None:
    from handlers.events import ConstituentMessage

    event = ConstituentMessage(
        channel="wecom_kf",
        external_id="wm-alice",
        platform_id="kf-dup",
        kind="text",
        sent_at=world.now,
        text="路灯坏了",
    )
    assert world.send(event)
    assert world.send(event) == []
    with world.sessions() as session:
        assert len(session.scalars(select(Case)).all()) == 1
        assert len(session.scalars(select(Constituent)).all()) == 1


def test_every_opened_case_replays_to_its_status(world: World) -> None:
    world.enter("s1")
    world.say("a")
    world.say("新问题 b")
    world.say("c", who="wm-x")
    with world.sessions() as session:
        for case in session.scalars(select(Case)):
            assert replayed_status(session, case.id) == case.status
