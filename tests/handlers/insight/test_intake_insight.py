"""Intake stores category, place and similar/recurrence links; cards show them; 分类 corrects."""

from __future__ import annotations

from sqlalchemy import select

from handlers import cards
from handlers.insight.corrections import corrections
from storage.models import CaseEvent, Place, Region
from tests.handlers.world import World, replies


def _places(world: World) -> None:
    with world.sessions() as session, session.begin():
        town = session.scalars(select(Region).where(Region.code == "T")).one()
        community = Region(code="T-1", name="新坝社区", level="community", parent_id=town.id)
        session.add(community)
        session.flush()
        session.add_all(
            [
                Place(name="阳光花园", kind="estate", region_id=community.id, lat=34.3, lng=119.0),
                Place(name="锦绣家园", kind="estate", region_id=community.id, lat=34.31, lng=119.0),
                Place(name="东门农贸市场", kind="landmark", region_id=town.id, aliases=[]),
            ]
        )


def test_new_case_gets_category_place_and_similar_link(world: World) -> None:
    _places(world)
    world.enter("s1")
    world.say("阳光花园的路灯坏了好几天了，晚上黑漆漆的")
    first = world.last_case_id()
    case = world.case(first)
    assert case.category == "市政设施(路灯/井盖)"
    assert case.category_source in ("model", "lexicon") and case.category_confidence
    assert case.place_how == "text" and case.similar_to_id is None
    # the category shares are stored with the features, so later cases weigh them
    assert case.insight is not None
    shares = case.insight["category_scores"]
    assert shares[0] == [case.category, case.category_confidence] and len(shares) == 3
    world.tick(days=2)
    world.enter("s1", who="wm-bob")
    world.say("那个 阳光花园小区 路灯 嗯 一到晚上就不亮[捂脸]", who="wm-bob")
    second = world.case(world.last_case_id())
    assert second.similar_to_id == first
    assert second.similar_reason is not None and second.similar_reason["reporters"] == 2
    kinds = [e.kind for e in world.events(second.id)]
    assert "insight" in kinds
    with world.sessions() as session:
        card = cards.case_card(session, second.id).as_text()
    assert f"疑似与 #{first} 同一问题（同一地点，2 天内，2 人反映）" in card
    assert "阳光花园（文字所述）" in card and "市政设施(路灯/井盖)" in card


def test_other_estate_and_recurrence(world: World) -> None:
    _places(world)
    world.enter("s1")
    world.say("阳光花园的路灯坏了好几天了")
    first = world.last_case_id()
    world.tick(days=1)
    world.enter("s1", who="wm-bob")
    world.say("锦绣家园的路灯坏了好几天了", who="wm-bob")
    assert world.case(world.last_case_id()).similar_to_id is None
    world.tick(days=60)
    world.enter("s1", who="wm-carol")
    world.say("阳光花园路灯又不亮了，晚上黑乎乎的", who="wm-carol")
    again = world.case(world.last_case_id())
    assert again.similar_to_id is None and again.recurrence_of_id == first
    with world.sessions() as session:
        assert f"复发：#{first}" in cards.case_card(session, again.id).as_text()


def test_category_correction_is_logged_and_exported(world: World) -> None:
    _places(world)
    world.enter("s1")
    world.say("东门农贸市场门口天天有车乱停，我电话13912345678")
    n = world.last_case_id()
    out = world.text("u-zhang", f"#{n} 分类 环境")
    assert any("环境卫生" in r.text for r in replies(out))
    case = world.case(n)
    assert case.category == "环境卫生" and case.category_source == "corrected"
    out = world.text("u-zhang", f"#{n} 分类 天气")
    assert any("没有「天气」这个分类" in r.text for r in replies(out))
    assert world.case(n).category == "环境卫生"
    with world.sessions() as session:
        events = session.scalars(
            select(CaseEvent).where(CaseEvent.kind == "category_corrected")
        ).all()
        assert len(events) == 1 and events[0].payload["after"] == "环境卫生"
        rows = corrections(session)
    # training data leaves the case's handlers: masked like every export
    assert rows[0]["text"] == "东门农贸市场门口天天有车乱停，我电话139****5678"
    assert rows[0]["category"] == "环境卫生"


def test_card_correction_checks_who_may_act_like_the_text_command(world: World) -> None:
    from handlers import texts

    world.enter("s1")
    world.say("医院门口天天乱停车")
    n = world.last_case_id()
    out = world.click("u-wang", "categorise", n, category="道路交通")  # 城北: not his station
    assert [r.text for r in replies(out, "u-wang")] == [texts.not_your_station(n)]
    assert world.case(n).category == "停车"
    out = world.click("u-zhang", "categorise", n)  # no category: the choices, as links
    [choose] = replies(out, "u-zhang")
    assert ("道路交通", f"#{n} 分类 道路交通") in [tuple(c) for c in choose.payload["choices"]]
    world.click("u-zhang", "categorise", n, category="道路交通")  # a template param works too
    assert world.case(n).category == "道路交通"
    [event] = [e for e in world.events(n) if e.kind == "category_corrected"]
    assert (event.payload["before"], event.payload["after"]) == ("停车", "道路交通")
    assert event.actor_kind == "deputy"  # logged as the deputy who clicked


def test_unplaced_report_joins_the_estate_its_loose_place_fits(world: World) -> None:
    _places(world)
    with world.sessions() as session, session.begin():
        town = session.scalars(select(Region).where(Region.code == "T")).one()
        session.add(Place(name="新坝路", kind="road", region_id=town.id, lat=34.2, lng=119.0))
    world.enter("s1")
    world.say("新坝路上有个井盖松了 一过车就哐当响")
    road = world.last_case_id()
    world.tick(hours=3)
    world.enter("s1", who="wm-bob")
    world.say("阳光花园门口的井盖松了 一过车就哐当响", who="wm-bob")
    estate = world.last_case_id()
    assert world.case(estate).similar_to_id is None
    world.tick(days=1)
    world.enter("s1", who="wm-carol")
    world.say("我们小区门口井盖一直响 能不能来固定一下", who="wm-carol")
    loose = world.case(world.last_case_id())
    assert loose.place_id is None and loose.insight is not None
    with world.sessions() as session:
        estates = set(session.scalars(select(Place.id).where(Place.kind == "estate")))
    assert set(loose.insight["hints"]) == estates  # stored, for later unplaced reports
    assert loose.similar_to_id == estate and loose.similar_to_id != road


def test_object_report_does_not_join_another_objects_group_at_intake(world: World) -> None:
    # the stored cases say which objects a group names (case_places): a loose manhole does not
    # join the streetlight group through its report that named no object
    _places(world)
    world.enter("s1")
    world.say("阳光花园的路灯坏了好几天了，晚上黑漆漆的")
    lamp = world.last_case_id()
    world.tick(hours=5)
    world.enter("s1", who="wm-bob")
    world.say("阳光花园门口这几天一到晚上就黑黑的 走着晃得厉害", who="wm-bob")
    assert world.case(world.last_case_id()).similar_to_id == lamp
    world.tick(hours=5)
    world.enter("s1", who="wm-carol")
    world.say("阳光花园门口有个井盖松了 车一压哐当哐当的", who="wm-carol")
    assert world.case(world.last_case_id()).similar_to_id is None
