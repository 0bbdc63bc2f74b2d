"""The calendar file format: per year, named holiday ranges and 调休 make-up workdays.

    calendar:
      2027:
        note: 国办发明电〔2026〕N号          # optional: where the schedule comes from
        holidays:
          - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
          - {name: 清明节, date: 2027-04-05}  # one day
        workdays:                           # Saturdays/Sundays worked instead (调休)
          - {date: 2027-02-20, name: 春节调休}
          - 2027-10-09

Every problem is reported (year, list, item number, value) before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from storage.directory.report import RowError

SECTION = "calendar"
_YEAR_KEYS = {"note", "holidays", "workdays"}
_HOLIDAY_KEYS = {"name", "date", "from", "to"}
_WORKDAY_KEYS = {"name", "date"}
_MAX_SPAN_DAYS = 31  # no statutory holiday is longer; a longer range is a typo
_MIN_YEAR, _MAX_YEAR = 2000, 2100


@dataclass
class YearSchedule:
    """One year's schedule: day → name for holidays and for make-up workdays."""

    year: int
    note: str | None = None
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str | None] = field(default_factory=dict)


@dataclass
class CalendarFile:
    """The years of a calendar section, and every problem found in it."""

    years: dict[int, YearSchedule] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


class _DatesAsText(yaml.SafeLoader):
    """Dates stay text, so `2027-02-30` is reported with its place instead of crashing."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_calendar(path: Path) -> CalendarFile:
    """Read the `calendar:` section of a YAML file (ValueError when it has none)."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_DatesAsText)  # noqa: S506
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or SECTION not in data:
        raise ValueError("the file has no `calendar:` section (see docs/calendar.md)")
    return parse_calendar(data[SECTION])


def parse_calendar(section: Any) -> CalendarFile:
    """Check a calendar section given as plain data (dates as text or `date`)."""
    out = CalendarFile()
    if section is None:
        return out
    if not isinstance(section, dict):
        out.errors.append(_err("calendar", "must be a mapping of year: {holidays, workdays}"))
        return out
    for key, body in section.items():
        year = _year(key)
        if year is None:
            out.errors.append(_err(str(key), f"not a year {_MIN_YEAR}–{_MAX_YEAR}"))
            continue
        schedule = _year_schedule(year, body, out.errors)
        if schedule is not None:
            out.years[year] = schedule
    _no_day_in_two_years(out)
    return out


def _err(where: str, reason: str) -> RowError:
    return RowError(SECTION, where, reason)


def _year(key: Any) -> int | None:
    text = str(key).strip()
    if not text.isdigit() or not _MIN_YEAR <= int(text) <= _MAX_YEAR:
        return None
    return int(text)


def _year_schedule(year: int, body: Any, errors: list[RowError]) -> YearSchedule | None:
    if not isinstance(body, dict):
        errors.append(_err(str(year), "must be a mapping with holidays (and workdays, note)"))
        return None
    unknown = sorted(str(k) for k in set(body) - _YEAR_KEYS)
    if unknown:
        reason = f"unknown key(s) {unknown} (known: holidays, workdays, note)"
        errors.append(_err(str(year), reason))
    if "holidays" not in body:
        errors.append(_err(str(year), "holidays: required (an empty list if there are none)"))
    note = body.get("note")
    schedule = YearSchedule(year, str(note).strip()[:256] if note else None)
    for index, item in enumerate(_items(year, "holidays", body.get("holidays"), errors), 1):
        _holiday(schedule, index, item, errors)
    for index, item in enumerate(_items(year, "workdays", body.get("workdays"), errors), 1):
        _workday(schedule, index, item, errors)
    return schedule


def _items(year: int, key: str, value: Any, errors: list[RowError]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(_err(f"{year} {key}", "must be a list (- ...)"))
        return []
    return value


def _day(text: Any) -> date | None:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        return None


def _in_reach(year: int, d: date) -> bool:
    # a schedule may start in late December (元旦 spanning the year end) or run into January
    return date(year - 1, 12, 1) <= d <= date(year + 1, 1, 31)


def _holiday(schedule: YearSchedule, index: int, item: Any, errors: list[RowError]) -> None:
    where = f"{schedule.year} holidays {index}"
    if not isinstance(item, dict):
        errors.append(_err(where, f"{item!r}: write {{name: 春节, from: YYYY-MM-DD, to: ...}}"))
        return
    unknown = sorted(str(k) for k in set(item) - _HOLIDAY_KEYS)
    if unknown:
        errors.append(_err(where, f"unknown key(s) {unknown} (known: name, from, to, date)"))
    name = str(item.get("name") or "").strip()
    if not name or len(name) > 64:
        errors.append(_err(where, "name: required (at most 64 characters), e.g. 春节"))
    first_text = item.get("from", item.get("date"))
    first, last = _day(first_text), _day(item.get("to", first_text))
    if first is None or last is None:
        bad = first_text if first is None else item.get("to")
        errors.append(_err(where, f"{bad!r} is not a date YYYY-MM-DD (give from/to or date)"))
        return
    if last < first:
        errors.append(_err(where, f"to {last} is before from {first}"))
        return
    if (last - first).days >= _MAX_SPAN_DAYS:
        errors.append(_err(where, f"{first}..{last} is longer than {_MAX_SPAN_DAYS} days"))
        return
    day = first
    while day <= last:
        _claim(schedule, where, day, errors, holiday=name or "?")
        day += timedelta(days=1)


def _workday(schedule: YearSchedule, index: int, item: Any, errors: list[RowError]) -> None:
    where = f"{schedule.year} workdays {index}"
    name: str | None = None
    if isinstance(item, dict):
        unknown = sorted(str(k) for k in set(item) - _WORKDAY_KEYS)
        if unknown:
            errors.append(_err(where, f"unknown key(s) {unknown} (known: date, name)"))
        name = str(item["name"]).strip()[:64] if item.get("name") else None
        item = item.get("date")
    day = _day(item)
    if day is None:
        errors.append(_err(where, f"{item!r} is not a date YYYY-MM-DD"))
        return
    if day.weekday() < 5:
        reason = f"{day} is a weekday already; a 调休 workday is a Saturday or Sunday"
        errors.append(_err(where, reason))
        return
    _claim(schedule, where, day, errors, workday=name)


def _claim(
    schedule: YearSchedule,
    where: str,
    day: date,
    errors: list[RowError],
    *,
    holiday: str | None = None,
    workday: str | None = None,
) -> None:
    if not _in_reach(schedule.year, day):
        errors.append(_err(where, f"{day} is outside the {schedule.year} schedule"))
    elif day in schedule.holidays or day in schedule.workdays:
        errors.append(_err(where, f"{day} is given twice in {schedule.year}"))
    elif holiday is not None:
        schedule.holidays[day] = holiday
    else:
        schedule.workdays[day] = workday


def _no_day_in_two_years(out: CalendarFile) -> None:
    owner: dict[date, int] = {}
    for year, schedule in sorted(out.years.items()):
        for day in sorted({*schedule.holidays, *schedule.workdays}):
            if day in owner:
                reason = f"{day} is also in the {owner[day]} schedule"
                out.errors.append(_err(str(year), reason))
            else:
                owner[day] = year
