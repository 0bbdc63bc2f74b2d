"""Chinese working time: statutory holidays, 调休 make-up workdays, office hours and SLA due times.

All public functions take timezone-aware datetimes (any zone) and return aware UTC datetimes.
Internally every instant is compared and subtracted in UTC, so a zone with DST would still be
handled correctly; office hours are interpreted as wall-clock times in `WorkingHours.tz`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

BEIJING = ZoneInfo("Asia/Shanghai")

_ONE_DAY = timedelta(days=1)


def _require_aware(t: datetime, name: str) -> None:
    """Reject naive datetimes: guessing their zone would silently shift every due time."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t!r}")


def _library_years() -> frozenset[int]:
    """The years chinese_calendar knows (its holiday table spans them; 2004–2026 in 1.11)."""
    years = {d.year for d in (*chinese_calendar.holidays, *chinese_calendar.workdays)}
    return frozenset(range(min(years), max(years) + 1)) if years else frozenset()


LIBRARY_YEARS = _library_years()


@lru_cache(maxsize=8192)
def _official_workday(d: date) -> bool:
    """chinese_calendar's answer, Monday–Friday outside its years; cached (the data is static)."""
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        return d.weekday() < 5


@dataclass(frozen=True)
class WorkingHours:
    """Office hours of one working day, as wall-clock times in `tz`.

    `breaks` are unpaid pauses inside the day (e.g. ``((time(12), time(13, 30)),)`` for a lunch
    break); by default there is none, so a working day is 09:00–17:30 = 8.5 hours.
    """

    start: time = time(9, 0)
    end: time = time(17, 30)
    breaks: tuple[tuple[time, time], ...] = ()
    tz: ZoneInfo = BEIJING

    def __post_init__(self) -> None:
        """Validate that the segments are ordered, non-empty and inside the day."""
        for t in (self.start, self.end, *(x for b in self.breaks for x in b)):
            if t.tzinfo is not None:
                raise ValueError("working-hour times are wall-clock times, without tzinfo")
        if not self.start < self.end:
            raise ValueError("working hours must end after they start")
        previous_end = self.start
        for b_start, b_end in self.breaks:
            if not (previous_end <= b_start < b_end <= self.end):
                raise ValueError(
                    f"breaks must be ordered, non-overlapping and inside {self.start}–{self.end}"
                )
            previous_end = b_end
        if self.day_length <= timedelta(0):
            raise ValueError("a working day must contain some working time")

    def segments(self) -> tuple[tuple[time, time], ...]:
        """The working intervals of one day, in order, with the breaks cut out."""
        out: list[tuple[time, time]] = []
        cursor = self.start
        for b_start, b_end in self.breaks:
            if b_start > cursor:
                out.append((cursor, b_start))
            cursor = b_end
        if self.end > cursor:
            out.append((cursor, self.end))
        return tuple(out)

    @property
    def day_length(self) -> timedelta:
        """Working time in one full working day."""
        anchor = date(2000, 1, 3)
        return sum(
            (datetime.combine(anchor, e) - datetime.combine(anchor, s) for s, e in self.segments()),
            timedelta(0),
        )


@dataclass(frozen=True)
class WorkCalendar:
    """Workdays under mainland China rules, and the working time between instants.

    `extra_holidays` / `extra_workdays` are the office's own calendar data (a newly announced
    year, or a local day off), entered before the `chinese_calendar` package knows them; they
    win over the library. `office_years` are the years the office has entered in full: a year
    in neither those nor `library_years` is *uncovered*, and deadlines that reach into it are
    only provisional (see `covers` and `Dues.provisional`).
    """

    hours: WorkingHours = field(default_factory=WorkingHours)
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    office_years: frozenset[int] = frozenset()
    library_years: frozenset[int] = LIBRARY_YEARS
    # per-instance memo of each day's working intervals (statistics ask for thousands of spans)
    _day_cache: dict[date, list[tuple[datetime, datetime]]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def covers(self, year: int) -> bool:
        """True when the holidays of `year` are known (from the office's data or the library)."""
        return year in self.office_years or year in self.library_years

    def uncovered_years(self, a: datetime, b: datetime) -> tuple[int, ...]:
        """The years between instants `a` and `b` (local dates, inclusive) nobody covers."""
        first = a.astimezone(self.hours.tz).year
        last = b.astimezone(self.hours.tz).year
        lo, hi = min(first, last), max(first, last)
        return tuple(y for y in range(lo, hi + 1) if not self.covers(y))

    @property
    def day_seconds(self) -> float:
        """Seconds of working time in one working day."""
        return self.hours.day_length.total_seconds()

    def is_workday(self, d: date) -> bool:
        """True if `d` is a working day in mainland China.

        The office's data first, then `chinese_calendar` (statutory holidays and 调休 make-up
        workdays, e.g. Saturday 2026-10-10 is a workday). For a year neither covers (e.g. 2027
        with chinesecalendar 1.11 and no `lianxin calendar import`) this falls back to plain
        Monday–Friday; `covers` tells callers so, and due dates are marked provisional.
        """
        if d in self.extra_workdays:
            return True
        if d in self.extra_holidays:
            return False
        return _official_workday(d)

    def _segments_utc(self, d: date) -> list[tuple[datetime, datetime]]:
        """Working intervals of local day `d` as UTC instants; empty on a day off."""
        cached = self._day_cache.get(d)
        if cached is not None:
            return cached
        tz = self.hours.tz
        segments = (
            [
                (
                    datetime.combine(d, s, tzinfo=tz).astimezone(UTC),
                    datetime.combine(d, e, tzinfo=tz).astimezone(UTC),
                )
                for s, e in self.hours.segments()
            ]
            if self.is_workday(d)
            else []
        )
        self._day_cache[d] = segments
        return segments

    def working_intervals(self, d: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of local day `d` as UTC instants (empty on a day off)."""
        return self._segments_utc(d)

    def _segments_from(self, t: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (clipped to start at `t`) from `t` onwards, forever."""
        d = t.astimezone(self.hours.tz).date()
        while True:
            for s, e in self._segments_utc(d):
                if e > t:
                    yield max(s, t), e
            d += _ONE_DAY

    def next_working_moment(self, t: datetime) -> datetime:
        """`t` itself (in UTC) if it is inside working time, else the next opening."""
        _require_aware(t, "t")
        t = t.astimezone(UTC)
        begin, _ = next(self._segments_from(t))
        return begin

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The instant when `seconds` of working time have elapsed since `start`.

        Starting outside office hours counts from the next opening. A deadline that uses up a day
        exactly lands on that day's closing time (17:30), not on the next opening.
        """
        _require_aware(start, "start")
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        start = start.astimezone(UTC)
        remaining = timedelta(seconds=seconds)
        if remaining == timedelta(0):
            return start
        for begin, end in self._segments_from(start):
            available = end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _segments_from never ends")  # pragma: no cover

    def add_working_days(self, start: datetime, days: float) -> datetime:
        """`start` plus `days` full working-day lengths of working time (UTC in, UTC out)."""
        return self.add_working_seconds(start, days * self.day_seconds)

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Seconds of working time from `a` to `b` (negative if `b` is before `a`)."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        if b < a:
            return -self.working_seconds_between(b, a)
        total = timedelta(0)
        d = a.astimezone(self.hours.tz).date()
        last = b.astimezone(self.hours.tz).date()
        while d <= last:
            for s, e in self._segments_utc(d):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            d += _ONE_DAY
        return total.total_seconds()


@dataclass(frozen=True)
class SlaPolicy:
    """Working-day limits, counted from the moment a case is opened."""

    claim_days: float = 1
    answer_days: float = 3
    close_days: float = 15

    def __post_init__(self) -> None:
        """Reject non-positive limits, which would make every case overdue at birth."""
        for f in fields(self):
            value = getattr(self, f.name)
            if not value > 0:
                raise ValueError(f"{f.name} must be positive, got {value!r}")

    @staticmethod
    def inherit(chain: Sequence[Mapping[str, float | None]]) -> SlaPolicy:
        """Resolve region overrides given leaf first (township → county → city).

        For each limit the first non-None value up the chain wins, else the default. Unknown keys
        raise ValueError so a typo in a region's settings does not silently fall back.
        """
        names = [f.name for f in fields(SlaPolicy)]
        chosen: dict[str, float] = {}
        for overrides in chain:
            unknown = set(overrides) - set(names)
            if unknown:
                raise ValueError(f"unknown SLA settings: {sorted(unknown)}")
            for name in names:
                value = overrides.get(name)
                if value is not None and name not in chosen:
                    chosen[name] = value
        return SlaPolicy(**chosen)


@dataclass(frozen=True)
class Dues:
    """The three deadlines of one case, as aware UTC datetimes.

    `uncovered` lists the years the deadlines reach into whose holidays nobody has entered:
    those days were counted Monday–Friday, so the deadlines are only provisional.
    """

    claim_due: datetime
    answer_due: datetime
    close_due: datetime
    uncovered: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        """True when a deadline was computed over a year without holiday data."""
        return bool(self.uncovered)


def due_times(
    policy: SlaPolicy, cal: WorkCalendar, opened_at: datetime, paused_seconds: float = 0.0
) -> Dues:
    """Deadlines of a case opened at `opened_at`.

    `paused_seconds` is working time during which the clock was stopped (e.g. waiting for the
    constituent in need_info); it pushes every deadline later by that much working time.
    """
    if paused_seconds < 0:
        raise ValueError("paused_seconds must not be negative")

    def due(days: float) -> datetime:
        return cal.add_working_seconds(opened_at, days * cal.day_seconds + paused_seconds)

    claim, answer, close = due(policy.claim_days), due(policy.answer_days), due(policy.close_days)
    latest = max(claim, answer, close)
    return Dues(claim, answer, close, uncovered=cal.uncovered_years(opened_at, latest))
