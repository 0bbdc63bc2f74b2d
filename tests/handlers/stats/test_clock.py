"""The running work clock agrees with the calendar's own span arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.stats.clock import WorkClock
from handlers.workcal import WorkCalendar

CAL = WorkCalendar()
START = datetime(2026, 1, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=330 * 24 * 60).map(
    lambda m: START + timedelta(minutes=m)
)


@settings(max_examples=300, deadline=None, derandomize=True)  # CI sees the same examples
@given(instants, st.integers(min_value=0, max_value=40 * 24 * 60))
def test_clock_equals_working_seconds_between(a: datetime, minutes: int) -> None:
    b = a + timedelta(minutes=minutes)
    clock = WorkClock(CAL, date(2025, 12, 1))
    assert abs(clock.between(a, b) - CAL.working_seconds_between(a, b)) < 1e-6


def test_holiday_week_counts_nothing() -> None:
    clock = WorkClock(CAL, date(2026, 9, 1))
    national_day = datetime(2026, 10, 1, 1, tzinfo=UTC)  # 09:00 Beijing, a holiday
    assert clock.between(national_day, national_day + timedelta(days=6)) == 0
