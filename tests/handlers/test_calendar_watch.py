"""A year without holiday data: deadlines marked 暂定, each office group told once, re-timed."""

from __future__ import annotations

from pathlib import Path

from handlers import calendar_watch, texts
from handlers.cards import case_card
from handlers.workcal import WorkCalendar
from storage.calendar import read_calendar
from tests.handlers.world import World, bj

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "calendar-2027.yaml"


def _office_2027() -> WorkCalendar:
    (year,) = read_calendar(EXAMPLE).years.values()
    return WorkCalendar(
        extra_holidays=frozenset(year.holidays),
        extra_workdays=frozenset(year.workdays),
        office_years=frozenset({2027}),
    )


def _open(world: World) -> int:
    world.enter("s1")
    world.say("新问题 小区门口路灯坏了")
    return world.last_case_id()


def test_due_date_in_an_uncovered_year_is_provisional_on_case_log_and_card(world: World) -> None:
    world.now = bj(2026, 12, 24, 10)
    world.enter("s1")
    out = world.say("新问题 小区门口路灯坏了")
    n = world.last_case_id()
    case = world.case(n)
    assert case.due_provisional is True
    (mark,) = [e for e in world.events(n) if e.kind == "due_provisional"]
    assert mark.payload["years"] == [2027]
    assert any(s.kind == "card_post" and s.case_id == n for s in out)
    with world.sessions() as session:  # the card is rendered from the case when it is sent
        view = case_card(session, n, world.now)
    (due_line,) = [value for label, value in view.fields if label == "办理时限"]
    assert due_line.startswith("接单时限：") and due_line.endswith("（暂定）")


def test_each_office_group_is_told_once_per_missing_year(world: World) -> None:
    world.ctx_overrides["office_group_id"] = "cid-default"
    world.now = bj(2026, 12, 10, 10)  # a case opened within a month would reach 2027
    assert world.run(calendar_watch.missing_years) == [2027]
    assert world.run(calendar_watch.warn_missing) == 2
    told = world.new_outbox()
    assert sorted(s.payload["conversation_id"] for s in told) == ["cid-default", "cid-office"]
    assert {s.text for s in told} == {texts.calendar_missing_notice([2027])}
    for _ in range(3):
        assert world.run(calendar_watch.warn_missing) == 0
    assert world.new_outbox() == []


def test_nothing_is_said_while_the_library_covers_the_horizon(world: World) -> None:
    world.now = bj(2026, 3, 2, 10)
    assert world.run(calendar_watch.missing_years) == []
    assert world.run(calendar_watch.warn_missing) == 0


def test_importing_the_year_re_times_provisional_cases(world: World) -> None:
    world.now = bj(2026, 12, 24, 10)
    n = _open(world)
    guessed = world.case(n).close_due_at
    assert guessed is not None and world.case(n).due_provisional
    world.ctx_overrides["calendar"] = _office_2027()
    world.tick(hours=1)
    world.new_outbox()
    assert world.run(calendar_watch.refresh_provisional) == 1
    assert [s.kind for s in world.new_outbox()] == ["card_refresh"]
    case = world.case(n)
    assert case.due_provisional is False
    assert case.close_due_at is not None and case.close_due_at > guessed  # 元旦 skipped now
    assert [e.kind for e in world.events(n)].count("due_confirmed") == 1
    assert world.run(calendar_watch.refresh_provisional) == 0
    assert world.run(calendar_watch.missing_years) == []


def test_open_cases_timed_before_the_check_are_marked_by_the_job(world: World) -> None:
    world.now = bj(2026, 12, 24, 10)
    world.ctx_overrides["calendar"] = WorkCalendar(office_years=frozenset({2027}))  # "covered"
    n = _open(world)
    assert world.case(n).due_provisional is False
    world.ctx_overrides.pop("calendar")  # the data turns out to be missing after all
    world.new_outbox()
    assert world.run(calendar_watch.warn_missing) == 1  # the office group, once
    out = world.new_outbox()
    assert sorted(s.kind for s in out) == ["card_refresh", "group"]
    assert world.case(n).due_provisional is True
    assert [e.kind for e in world.events(n)].count("due_provisional") == 1
    assert world.run(calendar_watch.warn_missing) == 0 and world.new_outbox() == []


def test_a_case_opened_on_the_imported_schedule_skips_its_holidays_and_counts_its_saturday(
    world: World,
) -> None:
    from storage.calendar import import_calendar, load_office_calendar

    with world.sessions.begin() as session:  # stored as `lianxin calendar import` stores it
        import_calendar(session, read_calendar(EXAMPLE), EXAMPLE.name)
    with world.sessions() as session:
        office = load_office_calendar(session)
    world.ctx_overrides["calendar"] = WorkCalendar(
        extra_holidays=office.holidays,
        extra_workdays=office.workdays,
        office_years=office.years,
    )
    # Friday 2027-02-05 10:00: one working day to claim skips the (fictional) 春节 02-06..14
    world.now = bj(2027, 2, 5, 10)
    case = world.case(_open(world))
    assert not case.due_provisional
    assert case.claim_due_at == bj(2027, 2, 15, 10)
    # Thursday 2027-02-18 10:00: three working days to answer are Fri, Sat 02-20 (调休), Mon
    world.now = bj(2027, 2, 18, 10)
    case = world.case(_open(world))
    assert not case.due_provisional
    assert case.claim_due_at == bj(2027, 2, 19, 10)
    assert case.answer_due_at == bj(2027, 2, 22, 10)
