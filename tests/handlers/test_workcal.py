"""Working-time arithmetic against the real chinese_calendar data (2026 holidays and 调休)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.workcal import (
    BEIJING,
    Dues,
    SlaPolicy,
    WorkCalendar,
    WorkingHours,
    due_times,
)

CAL = WorkCalendar()
DAY = 8.5 * 3600  # 09:00–17:30, no lunch break by default

PROPS = settings(max_examples=150, deadline=None, derandomize=True)


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Beijing wall-clock instant."""
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def as_bj(t: datetime) -> datetime:
    return t.astimezone(BEIJING)


# ---------------------------------------------------------------- the calendar itself


def test_library_make_up_workdays_sept_oct_2026_count_as_workdays() -> None:
    days = [date(2026, 9, 1) + timedelta(n) for n in range(61)]
    make_up = [d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
    # What the library says for the 2026 National Day / Mid-Autumn arrangement.
    assert make_up == [date(2026, 9, 20), date(2026, 10, 10)]
    assert date(2026, 9, 20).weekday() == 6  # a Sunday
    assert date(2026, 10, 10).weekday() == 5  # a Saturday
    for d in make_up:
        assert CAL.is_workday(d)


def test_national_day_and_mid_autumn_are_days_off() -> None:
    for day in range(1, 8):
        assert not CAL.is_workday(date(2026, 10, day))
    assert date(2026, 9, 25).weekday() == 4
    assert not CAL.is_workday(date(2026, 9, 25))  # Friday, Mid-Autumn Festival
    assert CAL.is_workday(date(2026, 9, 30))  # Wednesday, last workday before the holiday
    assert CAL.is_workday(date(2026, 10, 8))


def test_years_outside_library_fall_back_to_monday_to_friday() -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2031, 1, 6))
    assert CAL.is_workday(date(2031, 1, 6))  # Monday
    assert not CAL.is_workday(date(2031, 1, 4))  # Saturday


def test_extra_days_override_library_and_fallback() -> None:
    cal = WorkCalendar(
        extra_holidays=frozenset({date(2031, 1, 6)}),
        extra_workdays=frozenset({date(2026, 10, 1)}),
    )
    assert not cal.is_workday(date(2031, 1, 6))
    assert cal.is_workday(date(2026, 10, 1))


# ---------------------------------------------------------------- add_working_days


def test_opened_on_last_workday_before_national_day_lands_after_holiday() -> None:
    # Wednesday 2026-09-30 16:00: 1.5 h today, 7 h on Thursday 10-08 (first workday after).
    due = CAL.add_working_days(bj(2026, 9, 30, 16), 1)
    assert due.tzinfo is UTC
    assert as_bj(due) == bj(2026, 10, 8, 16)


def test_opened_on_friday_before_national_day_which_is_mid_autumn() -> None:
    # Friday 2026-09-25 is itself a holiday: counting starts Monday 09-28 09:00.
    assert as_bj(CAL.add_working_days(bj(2026, 9, 25, 16), 1)) == bj(2026, 9, 28, 17, 30)
    # Thursday 16:00 skips the Friday holiday and the weekend.
    assert as_bj(CAL.add_working_days(bj(2026, 9, 24, 16), 1)) == bj(2026, 9, 28, 16)


def test_answer_due_uses_make_up_saturday() -> None:
    # 3 working days from 09-30 16:00: 1.5 h + 10-08 + 10-09 + 7 h of Saturday 10-10.
    assert as_bj(CAL.add_working_days(bj(2026, 9, 30, 16), 3)) == bj(2026, 10, 10, 16)
    assert as_bj(CAL.add_working_days(bj(2026, 10, 9, 16), 1)) == bj(2026, 10, 10, 16)


def test_make_up_sunday_is_next_working_moment() -> None:
    assert as_bj(CAL.next_working_moment(bj(2026, 9, 19, 10))) == bj(2026, 9, 20, 9)


def test_nights_and_weekends_are_skipped() -> None:
    # March 2026 has no holidays: Monday 2026-03-02 .. Friday 03-06.
    assert as_bj(CAL.add_working_days(bj(2026, 3, 2, 16), 1)) == bj(2026, 3, 3, 16)
    assert as_bj(CAL.add_working_days(bj(2026, 3, 6, 16), 1)) == bj(2026, 3, 9, 16)
    assert as_bj(CAL.add_working_days(bj(2026, 3, 7, 11), 1)) == bj(2026, 3, 9, 17, 30)
    assert as_bj(CAL.add_working_days(bj(2026, 3, 2, 22), 1)) == bj(2026, 3, 3, 17, 30)
    assert as_bj(CAL.add_working_days(bj(2026, 3, 3, 6), 1)) == bj(2026, 3, 3, 17, 30)
    assert as_bj(CAL.add_working_days(bj(2026, 3, 2, 9), 0.5)) == bj(2026, 3, 2, 13, 15)


def test_utc_input_gives_utc_output() -> None:
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 16:00 Beijing
    due = CAL.add_working_days(start, 1)
    assert due == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert due.tzinfo is UTC


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(datetime(2026, 3, 2, 9), 1)
    with pytest.raises(ValueError):
        CAL.working_seconds_between(datetime(2026, 3, 2, 9), bj(2026, 3, 2, 9))
    with pytest.raises(ValueError):
        CAL.add_working_days(bj(2026, 3, 2, 9), -1)


def test_next_working_moment_boundaries() -> None:
    assert as_bj(CAL.next_working_moment(bj(2026, 3, 2, 9))) == bj(2026, 3, 2, 9)
    assert as_bj(CAL.next_working_moment(bj(2026, 3, 2, 12))) == bj(2026, 3, 2, 12)
    assert as_bj(CAL.next_working_moment(bj(2026, 3, 2, 17, 30))) == bj(2026, 3, 3, 9)
    assert as_bj(CAL.next_working_moment(bj(2026, 10, 1, 10))) == bj(2026, 10, 8, 9)


def test_working_seconds_between() -> None:
    assert CAL.working_seconds_between(bj(2026, 9, 30, 16), bj(2026, 10, 8, 16)) == DAY
    assert CAL.working_seconds_between(bj(2026, 10, 8, 16), bj(2026, 9, 30, 16)) == -DAY
    assert CAL.working_seconds_between(bj(2026, 10, 1, 0), bj(2026, 10, 7, 23)) == 0
    assert CAL.working_seconds_between(bj(2026, 3, 2, 12), bj(2026, 3, 2, 12, 30)) == 1800


def test_lunch_break_is_configurable() -> None:
    cal = WorkCalendar(WorkingHours(breaks=((time(12), time(13, 30)),)))
    assert cal.day_seconds == 7 * 3600
    assert as_bj(cal.add_working_seconds(bj(2026, 3, 2, 11), 2 * 3600)) == bj(2026, 3, 2, 14, 30)
    assert as_bj(cal.next_working_moment(bj(2026, 3, 2, 12, 15))) == bj(2026, 3, 2, 13, 30)
    assert cal.working_seconds_between(bj(2026, 3, 2, 9), bj(2026, 3, 2, 17, 30)) == 7 * 3600
    assert as_bj(cal.add_working_days(bj(2026, 3, 2, 9), 1)) == bj(2026, 3, 2, 17, 30)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": time(18), "end": time(9)},
        {"breaks": ((time(8), time(10)),)},
        {"breaks": ((time(13), time(14)), (time(12), time(13)))},
        {"breaks": ((time(12), time(12)),)},
        {"breaks": ((time(9), time(17, 30)),)},
        {"start": time(9, tzinfo=UTC)},
    ],
)
def test_invalid_working_hours_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WorkingHours(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- SLA policy and dues


def test_sla_inherit_first_non_none_from_leaf_upwards() -> None:
    township = {"claim_days": None, "answer_days": 2.0}
    county = {"claim_days": 0.5, "answer_days": 5.0}
    city = {"close_days": 10.0, "claim_days": 2.0}
    policy = SlaPolicy.inherit([township, county, city])
    assert policy == SlaPolicy(claim_days=0.5, answer_days=2, close_days=10)
    assert SlaPolicy.inherit([]) == SlaPolicy(claim_days=1, answer_days=3, close_days=15)
    assert SlaPolicy.inherit([{}, {"answer_days": None}]) == SlaPolicy()


def test_sla_inherit_rejects_unknown_keys_and_bad_values() -> None:
    with pytest.raises(ValueError):
        SlaPolicy.inherit([{"claim_dayz": 1.0}])
    with pytest.raises(ValueError):
        SlaPolicy.inherit([{"claim_days": 0.0}])


def test_due_times_for_case_opened_before_national_day() -> None:
    dues = due_times(SlaPolicy(), CAL, bj(2026, 9, 30, 16))
    assert dues == Dues(
        claim_due=bj(2026, 10, 8, 16).astimezone(UTC),
        answer_due=bj(2026, 10, 10, 16).astimezone(UTC),
        close_due=bj(2026, 10, 27, 16).astimezone(UTC),
    )


def test_paused_time_pushes_every_due() -> None:
    dues = due_times(SlaPolicy(), CAL, bj(2026, 3, 2, 9), paused_seconds=DAY)
    assert as_bj(dues.claim_due) == bj(2026, 3, 3, 17, 30)
    assert as_bj(dues.answer_due) == bj(2026, 3, 5, 17, 30)
    with pytest.raises(ValueError):
        due_times(SlaPolicy(), CAL, bj(2026, 3, 2, 9), paused_seconds=-1)


# ---------------------------------------------------------------- properties

# Spans the end of the library's data (2026) into the Monday–Friday fallback (2027).
instants = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2027, 2, 1),
    timezones=st.sampled_from([UTC, BEIJING]),
)
whole_days = st.integers(min_value=0, max_value=20)
fractional_days = st.floats(min_value=0, max_value=20, allow_nan=False, allow_infinity=False)


@PROPS
@given(instants, whole_days, whole_days)
def test_whole_days_compose(t: datetime, a: int, b: int) -> None:
    assert CAL.add_working_days(t, a + b) == CAL.add_working_days(CAL.add_working_days(t, a), b)


@PROPS
@given(instants, instants, fractional_days)
def test_monotonic_in_start(t1: datetime, t2: datetime, days: float) -> None:
    lo, hi = sorted((t1, t2))
    assert CAL.add_working_days(lo, days) <= CAL.add_working_days(hi, days)


@PROPS
@given(instants, fractional_days, fractional_days)
def test_monotonic_in_days(t: datetime, d1: float, d2: float) -> None:
    lo, hi = sorted((d1, d2))
    assert CAL.add_working_days(t, lo) <= CAL.add_working_days(t, hi)
    assert CAL.add_working_days(t, hi) >= t


@PROPS
@given(instants, whole_days)
def test_between_inverts_add_for_whole_days(t: datetime, days: int) -> None:
    assert CAL.working_seconds_between(t, CAL.add_working_days(t, days)) == days * DAY


@PROPS
@given(instants, fractional_days)
def test_between_inverts_add_for_fractional_days(t: datetime, days: float) -> None:
    elapsed = CAL.working_seconds_between(t, CAL.add_working_days(t, days))
    assert elapsed == pytest.approx(days * DAY, abs=1e-5)


@PROPS
@given(instants, instants)
def test_add_inverts_between(t1: datetime, t2: datetime) -> None:
    t, u = sorted((t1, t2))
    u = CAL.next_working_moment(u)  # a closing time and the next opening are the same moment
    back = CAL.add_working_seconds(t, CAL.working_seconds_between(t, u))
    assert CAL.next_working_moment(back) == u


@PROPS
@given(instants)
def test_next_working_moment_is_a_workday_inside_hours(t: datetime) -> None:
    m = CAL.next_working_moment(t)
    local = m.astimezone(BEIJING)
    assert m >= t
    assert CAL.is_workday(local.date())
    assert time(9) <= local.time() < time(17, 30)
    assert CAL.working_seconds_between(t, m) == 0


# ---------------------------------------------------------------- the office's calendar data


def _office_calendar() -> WorkCalendar:
    """The fictional 2027 schedule of examples/calendar-2027.yaml, as the bot layer loads it."""
    from pathlib import Path

    from storage.calendar import read_calendar

    example = Path(__file__).resolve().parents[2] / "examples" / "calendar-2027.yaml"
    (year,) = read_calendar(example).years.values()
    return WorkCalendar(
        extra_holidays=frozenset(year.holidays),
        extra_workdays=frozenset(year.workdays),
        office_years=frozenset({year.year}),
    )


def test_without_data_2027_is_uncovered_and_counted_monday_to_friday() -> None:
    assert CAL.covers(2026) and not CAL.covers(2027)
    assert CAL.is_workday(date(2027, 1, 1))  # the fallback: a Friday counts
    dues = due_times(SlaPolicy(), CAL, bj(2026, 12, 24, 10))
    assert dues.provisional and dues.uncovered == (2027,)
    inside = due_times(SlaPolicy(), CAL, bj(2026, 11, 2, 10))
    assert not inside.provisional and inside.uncovered == ()


def test_office_schedule_skips_its_holidays_and_counts_its_make_up_saturday() -> None:
    office = _office_calendar()
    assert office.covers(2027) and not office.covers(2028)
    opened = bj(2026, 12, 24, 10)  # Thursday before 元旦 (fictional 2027-01-01..03)
    guessed, known = due_times(SlaPolicy(), CAL, opened), due_times(SlaPolicy(), office, opened)
    assert known.uncovered == () and not known.provisional
    assert as_bj(known.close_due) == as_bj(guessed.close_due) + timedelta(days=1)
    # Friday 2027-02-05 10:00, 1 day to claim: the (fictional) Spring Festival week is skipped
    claim = office.add_working_days(bj(2027, 2, 5, 10), 1)
    assert as_bj(claim) == bj(2027, 2, 15, 10)
    assert as_bj(CAL.add_working_days(bj(2027, 2, 5, 10), 1)) == bj(2027, 2, 8, 10)
    # Thursday 2027-02-18 10:00, 3 days to answer: Saturday 02-20 is a 调休 workday
    assert office.is_workday(date(2027, 2, 20)) and date(2027, 2, 20).weekday() == 5
    assert as_bj(office.add_working_days(bj(2027, 2, 18, 10), 3)) == bj(2027, 2, 22, 10)
    assert as_bj(CAL.add_working_days(bj(2027, 2, 18, 10), 3)) == bj(2027, 2, 23, 10)


def test_office_data_goes_ahead_of_the_library() -> None:
    cal = WorkCalendar(
        extra_holidays=frozenset({date(2026, 11, 16)}), office_years=frozenset({2026})
    )
    assert CAL.is_workday(date(2026, 11, 16)) and not cal.is_workday(date(2026, 11, 16))
