"""Store and load the office's calendar: a year imported replaces that year as a whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ScalarSelect, delete, func, select
from sqlalchemy.orm import Session

from storage.calendar.fileformat import CalendarFile, YearSchedule
from storage.directory.report import RowError
from storage.models import CalendarDay, CalendarYear
from storage.timeutil import utcnow


@dataclass(frozen=True)
class OfficeCalendar:
    """What the handlers' WorkCalendar needs: the office's days off, days on, and its years."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    years: frozenset[int] = frozenset()


@dataclass(frozen=True)
class YearInfo:
    """One stored year, for `lianxin calendar status`."""

    year: int
    source: str
    note: str | None
    imported_at: datetime
    holidays: int
    workdays: int


@dataclass
class CalendarImport:
    """Per year: created, replaced or unchanged; errors when nothing was stored."""

    created: list[int] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


# Every import rewrites the years it changes with a new `imported_at`, so (years stored, the
# latest import) changes whenever the data does: one small query tells a process whether the
# calendar it loaded before is still the office's.
Stamp = tuple[int, datetime | None]
_LOADED: dict[tuple[str, Stamp], OfficeCalendar] = {}


def calendar_stamp_columns() -> tuple[ScalarSelect[int], ScalarSelect[datetime]]:
    """The stamp as two scalar subqueries, to fold into another query's round trip."""
    return (
        select(func.count(CalendarYear.year)).scalar_subquery(),
        select(func.max(CalendarYear.imported_at)).scalar_subquery(),
    )


def load_office_calendar(session: Session, stamp: Stamp | None = None) -> OfficeCalendar:
    """Every stored day and year; loaded again only when the stamp shows an import since."""
    if stamp is None:
        count, latest = session.execute(select(*calendar_stamp_columns())).one()
        stamp = (count, latest)
    key = (session.get_bind().engine.url.render_as_string(), stamp)
    if key not in _LOADED:
        if len(_LOADED) > 64:  # tests and tools open many databases in one process
            _LOADED.clear()
        _LOADED[key] = _load(session)
    return _LOADED[key]


def _load(session: Session) -> OfficeCalendar:
    holidays: set[date] = set()
    workdays: set[date] = set()
    for day, kind in session.execute(select(CalendarDay.day, CalendarDay.kind)):
        (holidays if kind == "holiday" else workdays).add(day)
    years = frozenset(session.scalars(select(CalendarYear.year)))
    return OfficeCalendar(frozenset(holidays), frozenset(workdays), years)


def stored_years(session: Session) -> list[YearInfo]:
    """The years the office has entered, oldest first, with their day counts."""
    counts: dict[tuple[int, str], int] = {
        (year, kind): n
        for year, kind, n in session.execute(
            select(CalendarDay.year, CalendarDay.kind, func.count()).group_by(
                CalendarDay.year, CalendarDay.kind
            )
        )
    }
    return [
        YearInfo(
            y.year,
            y.source,
            y.note,
            y.imported_at,
            counts.get((y.year, "holiday"), 0),
            counts.get((y.year, "workday"), 0),
        )
        for y in session.scalars(select(CalendarYear).order_by(CalendarYear.year))
    ]


def import_calendar(
    session: Session, parsed: CalendarFile, source: str, *, dry_run: bool = False
) -> CalendarImport:
    """Store every year of a checked file (none if it has errors); the caller commits."""
    result = CalendarImport(errors=list(parsed.errors))
    _check_against_stored(session, parsed, result.errors)
    if result.errors:
        return result
    changed: list[tuple[CalendarYear | None, YearSchedule]] = []
    for year, schedule in sorted(parsed.years.items()):
        stored = session.get(CalendarYear, year)
        if stored is None:
            result.created.append(year)
        elif stored.note == schedule.note and _stored_days(session, year) == _days(schedule):
            result.unchanged.append(year)
            continue
        else:
            result.replaced.append(year)
        changed.append((stored, schedule))
    if not dry_run and changed:
        # all old days go first, so a day moving between two years of the file never collides
        years = [schedule.year for _, schedule in changed]
        session.execute(delete(CalendarDay).where(CalendarDay.year.in_(years)))
        for stored, schedule in changed:
            _write_year(session, stored, schedule, source)
    return result


def _days(schedule: YearSchedule) -> dict[date, tuple[str, str | None]]:
    days: dict[date, tuple[str, str | None]] = {
        d: ("holiday", name) for d, name in schedule.holidays.items()
    }
    days.update({d: ("workday", name) for d, name in schedule.workdays.items()})
    return days


def _stored_days(session: Session, year: int) -> dict[date, tuple[str, str | None]]:
    rows = session.execute(
        select(CalendarDay.day, CalendarDay.kind, CalendarDay.name).where(CalendarDay.year == year)
    )
    return {day: (kind, name) for day, kind, name in rows}


def _check_against_stored(session: Session, parsed: CalendarFile, errors: list[RowError]) -> None:
    # A day of (say) late December may belong to next year's schedule; it cannot be in two.
    days = {d: y for y, s in parsed.years.items() for d in _days(s)}
    if not days:
        return
    rows = session.execute(
        select(CalendarDay.day, CalendarDay.year).where(CalendarDay.day.in_(sorted(days)))
    )
    for day, year in rows:
        if year != days[day] and year not in parsed.years:
            reason = f"{day} is already stored with the {year} schedule (re-import {year} too)"
            errors.append(RowError("calendar", str(days[day]), reason))


def _write_year(
    session: Session, stored: CalendarYear | None, schedule: YearSchedule, source: str
) -> None:
    if stored is None:
        stored = CalendarYear(year=schedule.year)
        session.add(stored)
    stored.source, stored.note, stored.imported_at = source[:256], schedule.note, utcnow()
    session.flush()
    for day, (kind, name) in sorted(_days(schedule).items()):
        session.add(CalendarDay(day=day, kind=kind, name=name, year=schedule.year))
    session.flush()
