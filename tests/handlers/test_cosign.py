"""附议: the suggested same case is merged from the card or by text, undone, answered, rated."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select

from handlers import cards
from handlers.caselog import replayed_status
from handlers.rating import expire_unrated
from handlers.stats.report import build_report
from handlers.stats.window import Window
from handlers.workcal import WorkCalendar
from storage.models import Place, Rating, Region
from tests.handlers.world import World, replies, to_constituent


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
            ]
        )


def _two_reports(world: World) -> tuple[int, int]:
    _places(world)
    world.enter("s1")
    world.say("阳光花园的路灯坏了好几天了，晚上黑漆漆的")
    first = world.last_case_id()
    world.tick(days=2)
    world.enter("s1", who="wm-bob")
    world.say("那个 阳光花园小区 路灯 嗯 一到晚上就不亮[捂脸]", who="wm-bob")
    second = world.last_case_id()
    assert world.case(second).similar_to_id == first
    return first, second


def _card(world: World, case_id: int) -> cards.CaseCardView:
    with world.sessions() as session:
        return cards.case_card(session, case_id)


def _menu_ids(sent: list, constituent_case: int) -> list[str]:
    return [
        item["id"]
        for s in to_constituent(sent)
        for item in s.payload.get("menu", [])
        if item["id"].startswith(f"rate:{constituent_case}:")
    ]


def test_card_offers_merge_and_one_answer_reaches_both(world: World) -> None:
    first, second = _two_reports(world)
    view = _card(world, second)
    [offer] = [b for b in view.buttons if b.action == "cosign"]
    assert offer.label == "合并为附议" and offer.command == f"#{second} 附议 #{first}"
    assert not [b for b in _card(world, first).buttons if b.action == "cosign"]

    out = world.click("u-zhang", "cosign", second)  # the button: into the suggested case
    assert any(f"合并为 #{first} 的附议" in r.text for r in replies(out, "u-zhang"))
    [told] = [s for s in to_constituent(out) if "合并办理" in s.text]
    assert told.case_id == second
    merged = world.case(second)
    assert merged.status == "merged" and merged.merged_into_id == first
    with world.sessions() as session:
        assert replayed_status(session, second) == "merged"
    assert ("附议", f"附议 1（#{second}）") in _card(world, first).fields
    assert [b.action for b in _card(world, second).buttons] == ["uncosign"]  # no 更正分类 either

    world.text("u-zhang", f"#{first} 接单")
    out = world.text("u-zhang", f"#{first} 回复 已安排维修，本周内修好")
    to_people = to_constituent(out)
    answers = [s for s in to_people if s.purpose == "answer"]
    assert len(answers) == 2 and all("已安排维修，本周内修好" in s.text for s in answers)
    assert {s.case_id for s in answers} == {first, second}
    [bob_ok] = [m for m in _menu_ids(out, second) if m.endswith(":ok")]
    assert bob_ok == f"rate:{second}:1:ok"
    [alice_ok] = [m for m in _menu_ids(out, first) if m.endswith(":ok")]

    out = world.tap(bob_ok, who="wm-bob")
    assert any("感谢" in s.text for s in to_constituent(out))
    assert world.case(second).status == "merged" and world.case(first).status == "replied"
    out = world.tap(bob_ok, who="wm-bob")  # a second tap counts nothing
    assert any("已评价" in s.text or "评价过" in s.text for s in to_constituent(out))
    world.tap(alice_ok, who="wm-alice")
    assert world.case(first).status == "closed"
    with world.sessions() as session:
        rows = session.execute(
            select(Rating.case_id, Rating.answer_seq, Rating.value).order_by(Rating.case_id)
        ).all()
    assert [tuple(r) for r in rows] == [(first, 1, "satisfied"), (second, 1, "satisfied")]
    with world.sessions() as session:  # statistics: one case collected, one 附议, two ratings
        window = Window(date(2026, 11, 1), date(2026, 11, 30), ZoneInfo("Asia/Shanghai"))
        totals = build_report(
            session, region_code=None, window=window, calendar=WorkCalendar()
        ).totals
    assert (totals["collected"].value, totals["co_signers"].value) == (1, 1)
    rate = totals["satisfaction_rate"]
    assert (rate.numerator, rate.denominator) == (2, 2)


def test_text_command_undo_and_refusals(world: World) -> None:
    first, second = _two_reports(world)
    for command, expected in (
        (f"#{second} 附议 #{second}", "不能附议它自己"),
        (f"#{second} 附议 #999", "没有找到诉求 #999"),
        (f"#{second} 附议 楼上", "不是诉求编号"),
        (f"#{first} 附议", "请写明要附议的诉求编号"),
        (f"#{second} 取消附议", "不是附议"),
    ):
        out = world.text("u-zhang", command)
        assert any(expected in r.text for r in replies(out, "u-zhang")), command
        assert world.case(second).status == "assigned"

    out = world.text("u-zhang", f"#{second} 附议 #{first}")
    assert world.case(second).status == "merged"
    out = world.text("u-zhang", f"#{first} 附议 #{second}")  # #second leads back to #first
    assert any("不能附议它自己" in r.text for r in replies(out, "u-zhang"))
    assert world.case(first).status == "assigned"
    out = world.text("u-chen", f"#{second} 取消附议")  # station staff undo it
    assert any("恢复单独办理" in r.text for r in replies(out, "u-chen"))
    assert any("单独办理" in s.text for s in to_constituent(out))
    case = world.case(second)
    assert case.status == "assigned" and case.merged_into_id is None and case.closed_at is None
    assert not [f for f in _card(world, first).fields if f[0] == "附议"]
    with world.sessions() as session:
        assert replayed_status(session, second) == "assigned"
    out = world.text("u-wang", f"#{second} 附议 #{first}")  # another station's deputy
    assert world.case(second).status == "assigned"


def test_late_cosigner_gets_the_answer_at_once_and_rates_it(world: World) -> None:
    first, second = _two_reports(world)
    world.text("u-zhang", f"#{first} 接单")
    world.text("u-zhang", f"#{first} 回复 已修好")
    out = world.text("u-zhang", f"#{second} 附议 #{first}")
    answers = [s for s in to_constituent(out) if s.purpose == "answer"]
    assert [s.case_id for s in answers] == [second] and "已修好" in answers[0].text
    out = world.tap(f"rate:{second}:1:bad", who="wm-bob")
    assert any("已转告" in s.text for s in to_constituent(out))
    assert any(f"附议群众（#{second}）" in r.text for r in replies(out, "u-zhang"))
    assert world.case(first).status == "replied"  # only the main case's own rating moves it
    out = world.tap(f"rate:{second}:2:ok", who="wm-bob")  # an answer that was never given
    assert world.case(second).rating == "unsatisfied"


def test_auto_merge_when_configured(world: World) -> None:
    world.ctx_overrides["auto_merge_score"] = 0.4
    _places(world)
    world.enter("s1")
    world.say("阳光花园的路灯坏了好几天了，晚上黑漆漆的")
    first = world.last_case_id()
    world.tick(days=1)
    world.enter("s1", who="wm-bob")
    out = world.say("阳光花园小区路灯一到晚上就不亮", who="wm-bob")
    second = world.last_case_id()
    case = world.case(second)
    assert case.status == "merged" and case.merged_into_id == first
    assert any(s.text.startswith(f"您反映的问题 #{second}") for s in to_constituent(out))
    handler_told = [r for r in replies(out) if f"#{second} 已合并为 #{first} 的附议" in r.text]
    assert handler_told, "the main case's handler was not told"
    [event] = [e for e in world.events(second) if e.action == "merge"]
    assert event.actor_kind == "system"


def test_no_auto_merge_by_default_and_other_estate_not_offered(world: World) -> None:
    _places(world)
    world.enter("s1")
    world.say("阳光花园的路灯坏了好几天了")
    world.tick(days=1)
    world.enter("s1", who="wm-bob")
    world.say("锦绣家园的路灯坏了好几天了", who="wm-bob")
    other = world.last_case_id()
    assert world.case(other).status == "assigned"
    assert not [b for b in _card(world, other).buttons if b.action == "cosign"]


def test_a_cosigner_who_never_rates_is_counted_unrated_once(world: World) -> None:
    first, second = _two_reports(world)
    world.text("u-zhang", f"#{second} 附议 #{first}")
    world.text("u-zhang", f"#{first} 接单")
    world.text("u-zhang", f"#{first} 回复 已修好")
    world.tap(f"rate:{first}:1:ok", who="wm-alice")
    world.tick(days=6)
    assert world.run(expire_unrated) == 0
    world.tick(days=2)
    assert world.run(expire_unrated) == 1
    assert world.run(expire_unrated) == 0
    with world.sessions() as session:
        values = (
            session.execute(
                select(Rating.value).where(Rating.case_id == second, Rating.answer_seq == 1)
            )
            .scalars()
            .all()
        )
    assert values == ["unrated"]
    out = world.tap(f"rate:{second}:1:ok", who="wm-bob")  # too late, and counted already
    assert world.case(second).rating == "unrated" and to_constituent(out)


def test_undo_after_a_cosigner_rating_keeps_it_and_numbers_own_answers_after_it(
    world: World,
) -> None:
    first, second = _two_reports(world)
    world.text("u-zhang", f"#{second} 附议 #{first}")
    world.text("u-zhang", f"#{first} 接单")
    world.text("u-zhang", f"#{first} 回复 已修好")
    world.tap(f"rate:{second}:1:ok", who="wm-bob")
    world.text("u-chen", f"#{second} 取消附议")
    world.text("u-zhang", f"#{second} 接单")
    out = world.text("u-zhang", f"#{second} 回复 单独核实后已处理")
    menu = [m for m in _menu_ids(out, second) if m.endswith(":ok")]
    assert menu == [f"rate:{second}:2:ok"]
    world.tap(menu[0], who="wm-bob")
    assert world.case(second).status == "closed"
    with world.sessions() as session:
        rows = session.execute(
            select(Rating.answer_seq, Rating.value).where(Rating.case_id == second)
        ).all()
    assert sorted(tuple(r) for r in rows) == [(1, "satisfied"), (2, "satisfied")]


def test_a_cosigner_writing_again_reaches_the_main_case_until_it_is_finished(
    world: World,
) -> None:
    first, second = _two_reports(world)
    world.text("u-zhang", f"#{first} 接单")
    world.text("u-zhang", f"#{second} 附议 #{first}")
    world.tick(minutes=30)
    out = world.say("什么时候能修好？", who="wm-bob")
    assert world.last_case_id() == second  # no new case
    assert any(f"附议群众补充（#{second}，附议 #{first}）：什么时候能修好" in r.text
               for r in replies(out, "u-zhang"))  # fmt: skip
    assert any(f"转给问题 #{first}" in s.text for s in to_constituent(out))
    world.tick(minutes=1)
    out = world.say("很急", who="wm-bob")
    assert not to_constituent(out)  # a burst is acknowledged once
    world.text("u-zhang", f"#{first} 回复 已修好")
    world.tap(f"rate:{first}:1:ok", who="wm-alice")
    assert world.case(first).status == "closed"
    world.tick(days=1)
    world.say("阳光花园门口的垃圾桶满了没人收", who="wm-bob")
    assert world.last_case_id() > second  # the main case is finished: a new case
