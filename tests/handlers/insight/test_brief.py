"""热点专报: a seeded week gives the hand-counted figures, twice; the Monday tick sends it once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from handlers.context import HandlerContext
from handlers.insight.brief import BriefError, Row, build_brief, parse_week
from handlers.insight.brief_send import send_due_briefs
from handlers.insight.brief_text import brief_markdown
from handlers.workcal import WorkCalendar
from storage.models import Case, Constituent, OutboxItem, Place, Region
from tests.handlers.world import World, bj

LAMP, PARKING, DIRT = "市政设施(路灯/井盖)", "停车", "环境卫生"
SUN, JIN = "新坝社区·阳光花园", "新坝社区·锦绣家园"


def seed_brief_cases(world: World) -> dict[str, int]:
    """The cases of the hand count (see the test's comments); returns their ids by letter."""
    ids: dict[str, int] = {}
    with world.sessions() as session, session.begin():
        regions = {r.code: r for r in session.scalars(select(Region))}
        community = Region(
            code="T-1", name="新坝社区", level="community", parent_id=regions["T"].id
        )
        session.add(community)
        session.flush()
        sun = Place(name="阳光花园", kind="estate", region_id=community.id)
        jin = Place(name="锦绣家园", kind="estate", region_id=community.id)
        people = [Constituent(channel="wecom_kf", external_id=f"wm-c{i}") for i in range(9)]
        session.add_all([sun, jin, *people])
        session.flush()
        c = [p.id for p in people]
        K, T, C = regions["K"].id, regions["T"].id, regions["C"].id  # noqa: N806

        def case(key: str, who: int, cat: str, place: Place | None, at: datetime, **kw: Any):
            row = Case(
                status=kw.pop("status", "assigned"),
                constituent_id=c[who],
                region_id=kw.pop("region", T),
                category=cat,
                place_id=place.id if place else None,
                text=kw.pop("text", f"{cat} 的问题"),
                created_at=at,
                updated_at=at,
                **kw,
            )
            session.add(row)
            session.flush()
            ids[key] = row.id
            return row

        old = case("P1", 2, DIRT, sun, bj(2026, 10, 1, 9), status="closed",
                   closed_at=bj(2026, 10, 3))  # fmt: skip
        q0 = bj(2026, 10, 26, 0, 0)  # the first instant of the history (W44)
        case("Q0", 7, PARKING, None, q0, status="closed", closed_at=bj(2026, 10, 27), region=K)
        case("Q1", 3, PARKING, jin, bj(2026, 11, 2, 9), status="closed", closed_at=bj(2026, 11, 5))
        case(
            "Q2", 4, PARKING, jin, bj(2026, 11, 10, 9), status="closed", closed_at=bj(2026, 11, 12)
        )
        q3 = case("Q3", 5, LAMP, sun, bj(2026, 11, 17, 9))
        case("Q4", 6, LAMP, sun, bj(2026, 11, 18, 9), status="merged", merged_into_id=q3.id,
             closed_at=bj(2026, 11, 18, 9))  # fmt: skip
        a = case("A", 1, LAMP, sun, bj(2026, 11, 23, 10), text="阳光花园路灯坏了，电话13812345678")
        for key, who, day in (("B", 2, 24), ("C", 3, 25)):
            case(key, who, LAMP, sun, bj(2026, 11, day, 10), status="merged",
                 merged_into_id=a.id, closed_at=bj(2026, 11, day, 10))  # fmt: skip
        case(
            "D", 1, PARKING, jin, bj(2026, 11, 25, 11), status="closed", closed_at=bj(2026, 11, 26)
        )
        case("E", 4, PARKING, None, bj(2026, 11, 26, 9), region=K)
        case("F", 5, DIRT, sun, bj(2026, 11, 27, 9), recurrence_of_id=old.id)
        case("G", 6, DIRT, None, bj(2026, 11, 27, 9), region=C)  # outside the county
        case("H", 7, PARKING, jin, bj(2026, 11, 29, 23, 30))  # the week's last half hour
        case("I", 8, PARKING, jin, bj(2026, 11, 30, 0, 10))  # next week
    return ids


def test_seeded_week_equals_the_hand_count_and_is_stable(world: World) -> None:
    ids = seed_brief_cases(world)
    with world.sessions() as session:
        brief = build_brief(session, "K", parse_week("2026-W48"))
        again = build_brief(session, "K", parse_week("2026W48"))
    # this week in K and below: A B C D E F H (G is in the city, I is next week)
    assert (brief.cases, brief.reporters, brief.cosigned) == (5, 6, 2)  # A D E F H; c1-5, c7
    assert brief.by_category == (
        Row(PARKING, 3, 3, (1, 1, 1, 0)),  # D E H; c1 c4 c7; Q0 W44, Q1 W45, Q2 W46
        Row(LAMP, 1, 3, (0, 0, 0, 1)),  # A (+B C); c1 c2 c3; W47 Q3 (Q4 merged)
        Row(DIRT, 1, 1, (0, 0, 0, 0)),  # F; P1 is older than the history
    )
    assert brief.by_category[0].previous_mean == 0.75 and brief.by_category[0].change == 2.25
    assert brief.by_place == (
        Row(SUN, 2, 4, (0, 0, 0, 1)),  # A F; c1 c2 c3 c5
        Row(JIN, 2, 2, (0, 1, 1, 0)),  # D H; c1 c7; Q1 W45, Q2 W46
        Row("地点未明", 1, 1, (1, 0, 0, 0)),  # E; Q0
    )
    assert [(r.case_id, r.of_case_id) for r in brief.recurrences] == [(ids["F"], ids["P1"])]
    # open at the week's end: A (3 people), Q3 (+Q4: 2), then E F H with one each, by number
    assert [(g.case_id, g.reporters, g.reports) for g in brief.top_open] == [
        (ids["A"], 3, 3),
        (ids["Q3"], 2, 2),
        (ids["E"], 1, 1),
    ]
    assert "13812345678" not in brief.top_open[0].quote and "阳光花园" in brief.top_open[0].quote
    assert brief == again and brief_markdown(brief) == brief_markdown(again)
    text = brief_markdown(brief)
    assert "统计期：2026年11月23日—11月29日" in text and "口径" in text and "前4周均值" in text


def test_bad_week_and_region_are_refused(world: World) -> None:
    for bad in ("2026-48", "2026-W54", "2026-W00"):
        with pytest.raises(BriefError):
            parse_week(bad)
    with world.sessions() as session, pytest.raises(BriefError):
        build_brief(session, "NOPE", parse_week("2026-W48"))


def _tick(world: World, at: datetime, calendar: WorkCalendar | None = None) -> int:
    with world.sessions() as session, session.begin():
        ctx = HandlerContext(now=at.astimezone(UTC), calendar=calendar or WorkCalendar())
        return send_due_briefs(session, ctx)


def test_monday_tick_sends_last_weeks_brief_once(world: World) -> None:
    seed_brief_cases(world)
    assert _tick(world, bj(2026, 11, 30, 8, 59)) == 0
    assert _tick(world, bj(2026, 11, 30, 9, 0)) == 1  # K has an office group; C and T none
    assert _tick(world, bj(2026, 11, 30, 15, 0)) == 0
    assert _tick(world, bj(2026, 12, 2, 9, 0)) == 0
    with world.sessions() as session:
        [row] = session.scalars(select(OutboxItem).where(OutboxItem.dedupe_key.is_not(None)))
        assert row.dedupe_key == "brief:K:2026-W48"
        assert row.payload["conversation_id"] == "cid-office"
        assert "海州区热点专报 2026-W48" in row.payload["text"]


def test_holiday_monday_moves_the_brief_to_the_next_working_day(world: World) -> None:
    holiday = WorkCalendar(extra_holidays=frozenset({date(2026, 11, 30)}))
    assert _tick(world, bj(2026, 11, 30, 10, 0), holiday) == 0
    assert _tick(world, bj(2026, 12, 1, 8, 0), holiday) == 0
    assert _tick(world, bj(2026, 12, 1, 9, 0), holiday) == 1


def test_a_cosigner_of_last_weeks_case_counts_as_a_reporter_not_a_case(world: World) -> None:
    ids = seed_brief_cases(world)
    with world.sessions() as session, session.begin():
        q3 = session.get(Case, ids["Q3"])
        assert q3 is not None
        person = Constituent(channel="wecom_kf", external_id="wm-late")
        session.add(person)
        session.flush()
        at = bj(2026, 11, 24, 15)
        session.add(
            Case(status="merged", constituent_id=person.id, region_id=q3.region_id,
                 category=LAMP, place_id=q3.place_id, merged_into_id=q3.id, text="路灯不亮",
                 created_at=at, updated_at=at, closed_at=at)
        )  # fmt: skip
    with world.sessions() as session:
        brief = build_brief(session, "K", parse_week("2026-W48"))
    assert (brief.cases, brief.reporters, brief.cosigned) == (5, 7, 3)
    assert Row(LAMP, 1, 4, (0, 0, 0, 1)) in brief.by_category
    assert brief.by_place[0] == Row(SUN, 2, 5, (0, 0, 0, 1))
    # Q3 now has three people like A; the older number goes first
    assert [(g.case_id, g.reporters) for g in brief.top_open[:2]] == [(ids["Q3"], 3), (ids["A"], 3)]
