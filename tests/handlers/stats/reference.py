"""The statistics as they were computed before SQL aggregation: every case row in Python.

A test oracle only: tests/handlers/stats/test_sql_equals_reference.py checks that
handlers.stats.build_reports gives exactly these figures on random data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from handlers import queries
from handlers.stats.clock import WorkClock
from handlers.stats.definitions import GROUPINGS, NO_GROUP_LABELS, SMALL_SAMPLE
from handlers.stats.figures import Figure, _rate, p90
from handlers.stats.report import Group, StatsReport, _child_regions, _labels, resolve_region
from handlers.stats.window import Window, local_week
from handlers.workcal import WorkCalendar
from storage.models import Case, Rating, Region

CLOSED_STATUSES = frozenset({"closed", "expired"})
SATISFIED = frozenset({"satisfied", "basic"})
RATED = frozenset({"satisfied", "basic", "unsatisfied"})


@dataclass(frozen=True)
class CaseRow:
    """One case as statistics see it (no text, no personal data)."""

    id: int
    status: str
    source: str
    region_id: int | None
    station_id: int | None
    deputy_id: int | None
    category: str | None
    merged_into_id: int | None
    created_at: datetime
    claimed_at: datetime | None
    first_answered_at: datetime | None
    closed_at: datetime | None
    answer_due_at: datetime | None
    rework_count: int = 0


@dataclass(frozen=True)
class RatingRow:
    """One rating given in the window, with the case it belongs to."""

    case_id: int
    value: str  # satisfied | basic | unsatisfied | unrated
    created_at: datetime


_COLUMNS = (
    Case.id,
    Case.status,
    Case.source,
    Case.region_id,
    Case.station_id,
    Case.assignee_deputy_id,
    Case.category,
    Case.merged_into_id,
    Case.created_at,
    Case.claimed_at,
    Case.first_answered_at,
    Case.closed_at,
    Case.answer_due_at,
    Case.rework_count,
)


def _in(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None], window: Window
) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


def _case_row(row: Row[*tuple[Any, ...]]) -> CaseRow:
    values: tuple[Any, ...] = tuple(row)
    return CaseRow(*values)


def load_cases(
    session: Session,
    region_ids: set[int] | None,
    window: Window,
    station_ids: frozenset[int] | None = None,
) -> list[CaseRow]:
    """Cases opened, due for an answer, or answered in the window; `None` = no restriction."""
    stmt = select(*_COLUMNS).where(
        Case.created_at < window.end,
        or_(
            _in(Case.created_at, window),
            _in(Case.answer_due_at, window),
            _in(Case.first_answered_at, window),
        ),
    )
    if region_ids is not None:
        stmt = stmt.where(Case.region_id.in_(region_ids))
    if station_ids is not None:
        stmt = stmt.where(Case.station_id.in_(station_ids))
    return [_case_row(row) for row in session.execute(stmt)]


def load_ratings(session: Session, case_ids: set[int] | None, window: Window) -> list[RatingRow]:
    """Ratings given in the window (for cases of `case_ids`, or every case when None)."""
    stmt = select(Rating.case_id, Rating.value, Rating.created_at).where(
        _in(Rating.created_at, window)
    )
    rows = [RatingRow(case_id, value, at) for case_id, value, at in session.execute(stmt)]
    if case_ids is None:
        return rows
    return [r for r in rows if r.case_id in case_ids]


def cases_by_id(session: Session, ids: set[int]) -> dict[int, CaseRow]:
    """Rows for the given case ids (the cases of ratings whose case lies outside the window)."""
    out: dict[int, CaseRow] = {}
    id_list = sorted(ids)
    for i in range(0, len(id_list), 500):
        chunk = id_list[i : i + 500]
        for row in session.execute(select(*_COLUMNS).where(Case.id.in_(chunk))):
            out[row[0]] = _case_row(row)
    return out


def _hours(key: str, values: list[float]) -> tuple[Figure, Figure]:
    if not values:
        return Figure(f"{key}_median", None, count=0), Figure(f"{key}_p90", None, count=0)
    return (
        Figure(f"{key}_median", round(median(values), 2), count=len(values)),
        Figure(f"{key}_p90", round(p90(values), 2), count=len(values)),
    )


class HoursCache:
    """Working hours between two instants, computed once per pair for a whole report."""

    def __init__(self, cal: WorkCalendar) -> None:
        self.cal = cal
        self._clock: WorkClock | None = None
        self._seen: dict[tuple[datetime, datetime], float] = {}

    def between(self, start: datetime, stop: datetime | None, w: Window) -> float | None:
        """Working hours from `start` to `stop`; None when `stop` is missing or after the window."""
        if stop is None or stop >= w.end or stop < start:
            return None
        key = (start, stop)
        seen = self._seen.get(key)
        if seen is not None:  # the same case in another grouping of the report
            return seen
        first = start.astimezone(self.cal.hours.tz).date()
        if self._clock is None or first < self._clock.anchor:
            # anchored a year early so every case of a report shares one clock
            self._clock = WorkClock(self.cal, first - timedelta(days=366))
        self._seen[key] = hours = self._clock.between(start, stop) / 3600
        return hours


def compute(
    cases: Iterable[CaseRow],
    ratings: Iterable[RatingRow],
    window: Window,
    hours: HoursCache,
) -> dict[str, Figure]:
    """Every figure of definitions.FIGURE_KEYS for one group, as of the window's end."""
    cases = list(cases)
    opened = [c for c in cases if window.contains(c.created_at)]
    collected = [c for c in opened if c.status != "merged"]
    co_signers = [c for c in opened if c.status == "merged"]
    answered = [c for c in collected if c.first_answered_at and c.first_answered_at < window.end]
    due_or_answered = [
        c
        for c in cases
        if c.status != "merged"
        and c.answer_due_at is not None
        and (window.contains(c.answer_due_at) or window.contains(c.first_answered_at))
    ]
    timely = [
        c
        for c in due_or_answered
        if c.first_answered_at is not None
        and c.answer_due_at is not None
        and c.first_answered_at <= c.answer_due_at
    ]
    ratings = list(ratings)
    rated = [r for r in ratings if r.value in RATED]
    closed = [
        c
        for c in collected
        if c.status in CLOSED_STATUSES and c.closed_at and c.closed_at < window.end
    ]
    rejected = [c for c in collected if c.status == "rejected"]
    figures = [
        Figure("collected", len(collected)),
        Figure("co_signers", len(co_signers)),
        Figure("answered", len(answered)),
        _rate("timely_answer_rate", len(timely), len(due_or_answered)),
        _rate("satisfaction_rate", sum(r.value in SATISFIED for r in rated), len(rated)),
        Figure("unrated", sum(r.value == "unrated" for r in ratings)),
        _rate("closed_rate", len(closed), len(collected)),
        Figure("rejected", len(rejected)),
        Figure("reworked", sum(c.rework_count > 0 for c in collected)),
    ]
    for key, attr, pool in (
        ("hours_to_claim", "claimed_at", collected),
        ("hours_to_answer", "first_answered_at", collected),
        ("hours_to_close", "closed_at", closed),
    ):
        values = [
            h
            for c in pool
            if (h := hours.between(c.created_at, getattr(c, attr), window)) is not None
        ]
        figures.extend(_hours(key, values))
    return {f.key: f for f in figures}


def build_reports(
    session: Session,
    *,
    region_code: str | None,
    window: Window,
    calendar: WorkCalendar,
    groupings: Sequence[str | None],
    station_ids: frozenset[int] | None = None,
) -> dict[str | None, StatsReport]:
    """Several groupings of one report from one load (a page with several charts)."""
    for by in groupings:
        if by is not None and by not in GROUPINGS:
            raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")
    region = resolve_region(session, region_code)
    subtree = queries.region_subtree_ids(session, region.id) if region is not None else None
    cases = load_cases(session, subtree, window, station_ids)
    ratings = load_ratings(session, None, window)
    by_id = {c.id: c for c in cases}
    missing = {r.case_id for r in ratings} - set(by_id)
    if missing:  # rated in the window, opened before it
        by_id.update(cases_by_id(session, missing))
    ratings = [
        r for r in ratings if r.case_id in by_id and _inside(by_id[r.case_id], subtree, station_ids)
    ]
    cases_all = list(by_id.values())
    hours = HoursCache(calendar)
    totals = compute(cases, ratings, window, hours)
    name = region.name if region is not None else "全部地区"
    return {
        by: StatsReport(
            region_code,
            name,
            window,
            by,
            totals,
            _groups(session, by, region, cases_all, cases, ratings, window, hours),
        )
        for by in groupings
    }


def _inside(case: CaseRow, subtree: set[int] | None, station_ids: frozenset[int] | None) -> bool:
    if subtree is not None and case.region_id not in subtree:
        return False
    return station_ids is None or case.station_id in station_ids


def _groups(
    session: Session,
    by: str | None,
    region: Region | None,
    case_index: list[CaseRow],
    cases: list[CaseRow],
    ratings: list[RatingRow],
    window: Window,
    calendar: HoursCache,
) -> list[Group]:
    if by is None:
        return []
    key_of = _key_function(session, by, region, window)
    by_id = {c.id: c for c in case_index}
    case_groups: dict[str, list[CaseRow]] = defaultdict(list)
    rating_groups: dict[str, list[RatingRow]] = defaultdict(list)
    for c in cases:
        case_groups[key_of(c)].append(c)
    for r in ratings:
        rating_groups[key_of(by_id[r.case_id])].append(r)
    labels = _labels(session, by)
    out = []
    for key in sorted(set(case_groups) | set(rating_groups)):
        figures = compute(case_groups[key], rating_groups[key], window, calendar)
        collected = figures["collected"].value or 0
        label = labels.get(key) or (NO_GROUP_LABELS[by] if key == "" else key)
        out.append(Group(key, label, figures, small_sample=int(collected) < SMALL_SAMPLE))
    return out


def _key_function(
    session: Session, by: str, region: Region | None, window: Window
) -> Callable[[CaseRow], str]:
    if by == "station":
        return lambda c: str(c.station_id or "")
    if by == "deputy":
        return lambda c: str(c.deputy_id or "")
    if by == "category":
        return lambda c: c.category or ""
    if by == "source":
        return lambda c: c.source or ""
    if by == "week":
        return lambda c: local_week(c.created_at, window.tz)
    child_of = _child_regions(session, region)
    return lambda c: str(child_of.get(c.region_id, "")) if c.region_id is not None else ""
