"""Working time as a running clock, so thousands of spans cost one lookup each.

`WorkClock.seconds(t)` is the working time from a fixed anchor day to `t`; the working time
between two instants is the difference of their clock readings. Day totals are summed once and
kept, so a report over 10,000 cases walks each calendar day once instead of once per case.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from handlers.workcal import WorkCalendar

_ONE_DAY = timedelta(days=1)


class WorkClock:
    """Cumulative working seconds on one calendar, from `anchor` (a local date) onwards."""

    def __init__(self, cal: WorkCalendar, anchor: date) -> None:
        self.cal = cal
        self.anchor = anchor
        self._starts: list[float] = [0.0]  # working seconds before each day, from the anchor

    def _before(self, d: date) -> float:
        index = (d - self.anchor).days
        while len(self._starts) <= index:
            day = self.anchor + timedelta(days=len(self._starts) - 1)
            spent = sum((e - s).total_seconds() for s, e in self.cal.working_intervals(day))
            self._starts.append(self._starts[-1] + spent)
        return self._starts[index]

    def seconds(self, t: datetime) -> float:
        """Working seconds from the start of the anchor day to `t` (t on or after the anchor)."""
        d = t.astimezone(self.cal.hours.tz).date()
        if d < self.anchor:
            raise ValueError(f"{t} is before the clock's anchor {self.anchor}")
        within = sum(
            (min(e, t) - s).total_seconds() for s, e in self.cal.working_intervals(d) if t > s
        )
        return self._before(d) + within

    def between(self, a: datetime, b: datetime) -> float:
        """Working seconds from `a` to `b` (the same as WorkCalendar.working_seconds_between)."""
        return self.seconds(b) - self.seconds(a)
