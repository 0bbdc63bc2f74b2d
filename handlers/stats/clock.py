"""Working time as a running clock, so thousands of spans cost one lookup each.

`WorkClock.seconds(t)` is the working time from a fixed anchor day to `t`; the working time
between two instants is the difference of their clock readings. Day totals are summed once and
kept, so a report over 10,000 cases walks each calendar day once instead of once per case.
Readings are whole microseconds, so a span does not depend on where the clock is anchored.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from handlers.workcal import WorkCalendar


class WorkClock:
    """Cumulative working seconds on one calendar, from `anchor` (a local date) onwards."""

    def __init__(self, cal: WorkCalendar, anchor: date) -> None:
        self.cal = cal
        self.anchor = anchor
        self._starts: list[int] = [0]  # working microseconds before each day, from the anchor

    def _before(self, d: date) -> int:
        index = (d - self.anchor).days
        while len(self._starts) <= index:
            day = self.anchor + timedelta(days=len(self._starts) - 1)
            spent = sum(_micros(e - s) for s, e in self.cal.working_intervals(day))
            self._starts.append(self._starts[-1] + spent)
        return self._starts[index]

    def micros(self, t: datetime) -> int:
        """Working microseconds from the start of the anchor day to `t` (on or after the anchor)."""
        d = t.astimezone(self.cal.hours.tz).date()
        if d < self.anchor:
            raise ValueError(f"{t} is before the clock's anchor {self.anchor}")
        within = sum(_micros(min(e, t) - s) for s, e in self.cal.working_intervals(d) if t > s)
        return self._before(d) + within

    def seconds(self, t: datetime) -> float:
        """Working seconds from the start of the anchor day to `t` (t on or after the anchor)."""
        return self.micros(t) / 1_000_000

    def between(self, a: datetime, b: datetime) -> float:
        """Working seconds from `a` to `b` (the same as WorkCalendar.working_seconds_between)."""
        return (self.micros(b) - self.micros(a)) / 1_000_000


def _micros(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
