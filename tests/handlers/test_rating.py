"""Journey 4: answer and rating — own constituent only, once per answer, 不满意 reopens, expiry."""

from __future__ import annotations

from sqlalchemy import select

from handlers import rating, texts
from storage.models import Rating
from tests.handlers.world import World, texts_to, to_constituent


def _answered(world: World, who: str = "wm-alice") -> int:
    world.enter("s1", who=who)
    world.say("小区门口路灯坏了一个月了", who=who)
    n = world.last_case_id()
    world.click("u-zhang", "claim", n)
    world.text("u-zhang", f"#{n} 回复 已联系城管，本周内修复")
    return n


def _ratings(world: World, n: int) -> list[tuple[int, str, str | None]]:
    with world.sessions() as session:
        rows = session.scalars(select(Rating).where(Rating.case_id == n).order_by(Rating.id))
        return [(r.answer_seq, r.value, r.reason) for r in rows]


def test_satisfied_closes_and_thanks(world: World) -> None:
    n = _answered(world)
    out = world.tap(f"rate:{n}:1:ok", text="满意")
    case = world.case(n)
    assert (case.status, case.rating, case.closed_at) == ("closed", "satisfied", world.now)
    assert [s.text for s in to_constituent(out)] == [texts.rating_thanks(n, "satisfied")]
    assert texts_to(out, "u-zhang") == [texts.rating_to_handler(n, "satisfied")]
    assert _ratings(world, n) == [(1, "satisfied", None)]


def test_basic_satisfied_also_closes(world: World) -> None:
    n = _answered(world)
    world.tap(f"rate:{n}:1:basic")
    assert (world.case(n).status, world.case(n).rating) == ("closed", "basic")


def test_rating_from_another_constituent_changes_nothing(world: World) -> None:
    n = _answered(world)
    out = world.tap(f"rate:{n}:1:ok", who="wm-mallory")
    assert [s.text for s in to_constituent(out)] == [texts.rating_not_yours()]
    assert to_constituent(out)[0].payload["external_id"] == "wm-mallory"
    assert world.case(n).status == "replied"
    assert _ratings(world, n) == []


def test_second_rating_for_the_same_answer_changes_nothing(world: World) -> None:
    n = _answered(world)
    world.tap(f"rate:{n}:1:ok")
    out = world.tap(f"rate:{n}:1:bad")
    assert [s.text for s in to_constituent(out)] == [texts.already_rated(n)]
    assert (world.case(n).status, world.case(n).rating) == ("closed", "satisfied")
    assert _ratings(world, n) == [(1, "satisfied", None)]


def test_rating_without_an_answer_or_for_an_unknown_case(world: World) -> None:
    world.enter("s1")
    world.say("路灯坏了")
    n = world.last_case_id()
    out = world.tap(f"rate:{n}:0:ok")
    assert [s.text for s in to_constituent(out)] == [texts.rating_not_open(n)]
    out = world.tap("rate:424242:1:ok")
    assert [s.text for s in to_constituent(out)] == [texts.rating_not_open(424242)]
    out = world.tap("rate:garbage")
    assert [s.text for s in to_constituent(out)] == [texts.ask_to_describe()]
    assert world.case(n).status == "assigned"


def test_unsatisfied_asks_why_reopens_to_the_same_handler_and_copies_staff(world: World) -> None:
    n = _answered(world)
    out = world.tap(f"rate:{n}:1:bad", text="不满意")
    case = world.case(n)
    assert (case.status, case.rework_count, case.assignee_deputy_id) == (
        "reopened",
        1,
        world.ids["zhang"],
    )
    assert [s.text for s in to_constituent(out)] == [texts.unsatisfied_follow_up(n)]
    # the handler and staff are told once, when the reason is in (not at the click)
    assert texts_to(out, "u-zhang") == [] and texts_to(out, "u-chen") == []
    # the one short follow-up: the next text is the reason
    world.tick(minutes=5)
    out = world.say("路灯还是不亮")
    assert [s.text for s in to_constituent(out)] == [texts.reopened_notice(n, "张代表")]
    assert texts_to(out, "u-zhang") == [texts.reopened_to_handler(n, "路灯还是不亮")]
    assert texts_to(out, "u-chen") == [texts.reopened_to_staff(n, "张代表", "路灯还是不亮")]
    assert _ratings(world, n) == [(1, "unsatisfied", "路灯还是不亮")]
    # the same handler answers again without re-claiming; the second answer is rated
    out = world.text("u-zhang", f"#{n} 回复 已更换灯泡，今晚可亮")
    menu = [s for s in to_constituent(out) if s.purpose == "rating"][0]
    assert menu.payload["menu"][0]["id"] == f"rate:{n}:2:ok"
    # the old menu no longer counts; the new one does
    assert [s.text for s in to_constituent(world.tap(f"rate:{n}:1:ok"))] == [texts.already_rated(n)]
    world.tap(f"rate:{n}:2:ok")
    case = world.case(n)
    assert (case.status, case.rework_count, case.answer_seq) == ("closed", 1, 2)
    assert _ratings(world, n) == [(1, "unsatisfied", "路灯还是不亮"), (2, "satisfied", None)]
    actions = [e.action for e in world.events(n) if e.kind == "transition"]
    assert actions == ["route", "claim", "reply", "rate_bad", "reply", "rate_ok"]


def test_one_notice_each_when_no_reason_comes_in_time(world: World) -> None:
    n = _answered(world)
    world.tap(f"rate:{n}:1:bad")
    world.tick(minutes=9)
    assert world.run(rating.notify_unexplained) == 0  # still waiting for the reason
    assert world.new_outbox() == []
    world.tick(minutes=2)
    assert world.run(rating.notify_unexplained) == 1
    out = world.new_outbox()
    assert texts_to(out, "u-zhang") == [texts.reopened_to_handler(n, None)]
    assert texts_to(out, "u-chen") == [texts.reopened_to_staff(n, "张代表", None)]
    assert "未说明" in texts.reopened_to_handler(n, None)
    assert world.run(rating.notify_unexplained) == 0  # exactly once
    # a reason after the notice: logged and on the card, no second message
    out = world.say("路灯还是不亮")
    assert texts_to(out, "u-zhang") == [] and texts_to(out, "u-chen") == []
    assert any(s.kind == "card_refresh" for s in out)
    assert _ratings(world, n) == [(1, "unsatisfied", "路灯还是不亮")]
    with world.sessions() as session:
        from handlers.cards import case_card

        fields = dict(case_card(session, n).fields)
    assert fields["群众评价"] == "不满意（路灯还是不亮）"


def test_a_reason_in_time_means_no_later_notice(world: World) -> None:
    n = _answered(world)
    world.tap(f"rate:{n}:1:bad")
    world.tick(minutes=3)
    out = world.say("还是不亮")
    assert texts_to(out, "u-zhang") == [texts.reopened_to_handler(n, "还是不亮")]
    world.tick(minutes=30)
    assert world.run(rating.notify_unexplained) == 0
    assert texts_to(world.new_outbox(), "u-zhang") == []


def test_the_wait_comes_from_the_context(world: World) -> None:
    world.ctx_overrides["reason_wait_minutes"] = 1
    n = _answered(world)
    world.tap(f"rate:{n}:1:bad")
    world.tick(minutes=2)
    assert world.run(rating.notify_unexplained) == 1
    assert texts_to(world.new_outbox(), "u-zhang") == [texts.reopened_to_handler(n, None)]


def test_the_reason_is_optional(world: World) -> None:
    n = _answered(world)
    world.tap(f"rate:{n}:1:bad")
    world.tick(days=2)  # no reason given; much later the constituent writes again
    out = world.say("什么时候修？")
    assert _ratings(world, n) == [(1, "unsatisfied", None)]
    assert texts_to(out, "u-zhang") == [f"群众补充（#{n}）：什么时候修？"]  # an ordinary follow-up


def test_no_rating_within_seven_days_closes_as_unrated(world: World) -> None:
    n = _answered(world)
    world.tick(days=6, hours=23)
    assert world.run(rating.expire_unrated) == 0
    world.tick(hours=1)
    assert world.run(rating.expire_unrated) == 1
    out = world.new_outbox()
    case = world.case(n)
    assert (case.status, case.rating) == ("expired", "unrated")
    assert [s.text for s in to_constituent(out)] == [texts.closed_unrated(n)]
    assert _ratings(world, n) == [(1, "unrated", None)]  # counted apart, never as 满意
    assert world.run(rating.expire_unrated) == 0  # exactly once
    # a late tap changes nothing
    assert [s.text for s in to_constituent(world.tap(f"rate:{n}:1:ok"))] == [texts.already_rated(n)]
    assert world.case(n).status == "expired"


def test_rating_days_come_from_the_context(world: World) -> None:
    world.ctx_overrides = {"rating_days": 2}
    n = _answered(world)
    world.tick(days=2)
    assert world.run(rating.expire_unrated) == 1
    assert world.case(n).status == "expired"
