"""SQL aggregation gives exactly the figures of the row-by-row computation it replaced.

Random cases (every status, merged, rejected, reopened, answered late, timestamps before and
after the window, no region, no station, empty category, ratings before and inside the window)
are reported by `handlers.stats.build_reports` and by `reference.build_reports` (the former
Python implementation, kept as the oracle) for every grouping, scope and several windows.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select

from handlers.stats import GROUPINGS, Window, build_reports
from handlers.workcal import WorkCalendar
from storage.models import Case, CaseHours, Constituent, Rating
from tests.handlers.stats import reference
from tests.handlers.world import World, bj

BJ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
STATUSES = [
    *("assigned", "accepted", "replied", "closed", "expired", "merged", "rejected", "reopened")
]
CATEGORIES = ["道路交通", "环境卫生", "", None]
START = bj(2026, 9, 1, 8)


def _maybe(rnd: random.Random, t: datetime, hours: float) -> datetime | None:
    return t + timedelta(hours=rnd.uniform(-2, hours)) if rnd.random() < 0.8 else None


def _seed(world: World, n: int, seed: int) -> None:
    rnd = random.Random(seed)
    stations = [world.ids["s1"], world.ids["s2"], world.ids["s3"], None]
    regions = {
        world.ids["s1"]: world.ids["county"],
        world.ids["s2"]: world.ids["county"],
        world.ids["s3"]: world.ids["town"],
        None: None,
    }
    deputies = [world.ids["zhang"], world.ids["li"], world.ids["wang"], None]
    with world.sessions() as session, session.begin():
        for i in range(n):
            person = Constituent(channel="wecom_kf", external_id=f"wm-r{seed}-{i}")
            session.add(person)
            session.flush()
            opened = START + timedelta(minutes=rnd.randrange(0, 100 * 24 * 60))
            station = rnd.choice(stations)
            due = opened + timedelta(days=rnd.choice([1, 3, 5])) if rnd.random() < 0.9 else None
            case = Case(
                status=rnd.choice(STATUSES),
                constituent_id=person.id,
                station_id=station,
                region_id=regions[station],
                assignee_deputy_id=rnd.choice(deputies),
                category=rnd.choice(CATEGORIES),
                source=rnd.choice(["bot", "12345"]),
                text="路灯坏了",
                created_at=opened,
                claimed_at=_maybe(rnd, opened, 30),
                first_answered_at=_maybe(rnd, opened, 200),
                closed_at=_maybe(rnd, opened, 400),
                answer_due_at=due,
                rework_count=rnd.choice([0, 0, 0, 1, 2]),
            )
            session.add(case)
            session.flush()
            for seq in range(rnd.choice([0, 0, 1, 2])):
                session.add(
                    Rating(
                        case_id=case.id,
                        answer_seq=seq + 1,
                        constituent_id=person.id,
                        value=rnd.choice(["satisfied", "basic", "unsatisfied", "unrated"]),
                        created_at=opened + timedelta(hours=rnd.uniform(1, 600)),
                    )
                )


WINDOWS = [
    Window(date(2026, 10, 1), date(2026, 10, 31), BJ),
    Window(date(2026, 9, 14), date(2026, 11, 30), BJ),
    Window(date(2026, 10, 12), date(2026, 10, 12), BJ),
    Window(date(2027, 3, 1), date(2027, 3, 31), BJ),  # nothing opened: only late answers/ratings
]
SCOPES: list[tuple[str | None, frozenset[int] | None]] = [("K", None), ("C", None), (None, None)]


def _both(world: World, region: str | None, stations: frozenset[int] | None, w: Window) -> None:
    groupings: list[str | None] = [None, *GROUPINGS]
    with world.sessions() as session, session.begin():  # committed: keeps the stored hours
        kw: dict[str, Any] = {
            "region_code": region,
            "window": w,
            "calendar": CAL,
            "groupings": groupings,
            "station_ids": stations,
        }
        new = build_reports(session, **kw)
        old = reference.build_reports(session, **kw)
        charts = build_reports(session, **kw, charts_only=True)
        for by in groupings:
            assert new[by].as_dict() == old[by].as_dict(), (region, stations, w, by)
            # a charts page's groups: the same groups, labels and collected counts, nothing else
            assert charts[by].totals == new[by].totals
            assert [(g.key, g.label, g.small_sample, g.figures) for g in charts[by].groups] == [
                (g.key, g.label, g.small_sample, {"collected": g.figures["collected"]})
                for g in new[by].groups
            ], (region, stations, w, by)


def test_sql_figures_equal_the_reference_on_random_cases(world: World) -> None:
    _seed(world, 400, seed=1)
    scopes = [*SCOPES, (None, frozenset({world.ids["s1"], world.ids["s3"]}))]
    for region, stations in scopes:
        for w in WINDOWS:
            _both(world, region, stations, w)


def test_stored_hours_follow_changed_timestamps(world: World) -> None:
    """A case claimed, answered or closed again after its hours were stored is recomputed."""
    _seed(world, 120, seed=2)
    w = WINDOWS[1]
    _both(world, "K", None, w)  # fills case_hours
    with world.sessions() as session, session.begin():
        stored = session.scalar(select(CaseHours.case_id).limit(1))
        assert stored is not None
        shift = timedelta(hours=7)
        for case in session.scalars(select(Case)):
            if case.id % 3 == 0:
                case.claimed_at = case.claimed_at and case.claimed_at + shift
                case.first_answered_at = case.first_answered_at and case.first_answered_at + shift
            if case.id % 4 == 0 and case.closed_at is not None:
                case.closed_at = case.closed_at + shift
            if case.id % 7 == 0:
                case.closed_at = None
        session.execute(delete(CaseHours).where(CaseHours.case_id % 5 == 0))
    _both(world, "K", None, w)
    _both(world, None, None, w)
    refreshed = _stored(world)
    with world.sessions() as session, session.begin():
        session.execute(delete(CaseHours))
    _both(world, None, None, w)
    assert _stored(world) == refreshed  # exactly what a computation from scratch stores


def _stored(world: World) -> dict[int, tuple[float | None, ...]]:
    with world.sessions() as session:
        rows = session.execute(
            select(CaseHours.case_id, CaseHours.to_claim, CaseHours.to_answer, CaseHours.to_close)
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def test_a_changed_calendar_recomputes_every_span(world: World) -> None:
    _seed(world, 80, seed=3)
    w = WINDOWS[0]
    _both(world, None, None, w)
    holiday = WorkCalendar(extra_holidays=frozenset({date(2026, 10, 9), date(2026, 10, 13)}))
    with world.sessions() as session:
        new = build_reports(session, region_code=None, window=w, calendar=holiday, groupings=[None])
        old = reference.build_reports(
            session, region_code=None, window=w, calendar=holiday, groupings=[None]
        )
        assert new[None].as_dict() == old[None].as_dict()
        plain = build_reports(session, region_code=None, window=w, calendar=CAL, groupings=[None])
        assert plain[None].totals != new[None].totals  # the holidays did change the hours
