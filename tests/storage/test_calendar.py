"""The office's calendar file: checked as a whole, stored per year, replaced on re-import."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.calendar import (
    import_calendar,
    load_office_calendar,
    read_calendar,
    stored_years,
)
from storage.directory import DirectoryImportError, import_directory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "calendar-2027.yaml"
Sessions = sessionmaker[Session]


def test_the_example_is_marked_fictional_and_valid() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "FICTIONAL" in text and "虚构" in text
    parsed = read_calendar(EXAMPLE)
    assert parsed.errors == []
    (year,) = parsed.years.values()
    assert all("（示例）" in name for name in year.holidays.values())
    assert date(2027, 1, 1) in year.holidays and date(2027, 2, 10) in year.holidays
    assert date(2027, 2, 20) in year.workdays and date(2027, 2, 20).weekday() == 5


def test_every_mistake_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "mistakes.yaml"
    path.write_text(
        """
calendar:
  2027:
    holidays:
      - {name: 春节, from: 2027-02-15, to: 2027-02-10}
      - {from: 2027-05-01}
      - {name: 国庆节, from: 2027-10-01, to: 2027-10-07}
      - {name: 重阳, date: 2027-10-05}
      - {name: 长假, from: 2027-07-01, to: 2027-08-30}
      - {name: 元旦, date: 2029-01-01}
      - {name: 错日, date: 2027-02-30}
    workdays:
      - 2027-02-22
      - {date: 2027-10-09, name: 调休, colour: red}
  twenty: {holidays: []}
  2028: {workdays: []}
""",
        "utf-8",
    )
    errors = [str(e) for e in read_calendar(path).errors]
    assert errors == [
        "calendar row 2027 holidays 1: to 2027-02-10 is before from 2027-02-15",
        "calendar row 2027 holidays 2: name: required (at most 64 characters), e.g. 春节",
        "calendar row 2027 holidays 4: 2027-10-05 is given twice in 2027",
        "calendar row 2027 holidays 5: 2027-07-01..2027-08-30 is longer than 31 days",
        "calendar row 2027 holidays 6: 2029-01-01 is outside the 2027 schedule",
        "calendar row 2027 holidays 7: '2027-02-30' is not a date YYYY-MM-DD "
        "(give from/to or date)",
        "calendar row 2027 workdays 1: 2027-02-22 is a weekday already; a 调休 workday is a "
        "Saturday or Sunday",
        "calendar row 2027 workdays 2: unknown key(s) ['colour'] (known: date, name)",
        "calendar row twenty: not a year 2000–2100",
        "calendar row 2028: holidays: required (an empty list if there are none)",
    ]


def test_import_replaces_a_year_and_is_idempotent(sessions: Sessions, tmp_path: Path) -> None:
    with sessions.begin() as session:
        first = import_calendar(session, read_calendar(EXAMPLE), "calendar-2027.yaml")
    assert first.created == [2027] and first.errors == []
    with sessions() as session:
        office = load_office_calendar(session)
        (info,) = stored_years(session)
    assert office.years == {2027} and date(2027, 1, 1) in office.holidays
    assert office.workdays == {date(2027, 2, 20), date(2027, 4, 25), date(2027, 10, 9)}
    assert (info.year, info.source, info.holidays, info.workdays) == (
        2027,
        "calendar-2027.yaml",
        27,
        3,
    )
    with sessions.begin() as session:
        again = import_calendar(session, read_calendar(EXAMPLE), "again.yaml")
    assert again.unchanged == [2027]

    smaller = tmp_path / "c.yaml"
    smaller.write_text(
        "calendar:\n  2027:\n    holidays:\n      - {name: 元旦, date: 2027-01-01}\n", "utf-8"
    )
    with sessions.begin() as session:
        assert import_calendar(session, read_calendar(smaller), "c.yaml").replaced == [2027]
    with sessions() as session:
        office = load_office_calendar(session)
    assert office.holidays == {date(2027, 1, 1)} and office.workdays == frozenset()


def test_dry_run_stores_nothing(sessions: Sessions) -> None:
    with sessions.begin() as session:
        result = import_calendar(session, read_calendar(EXAMPLE), "x.yaml", dry_run=True)
    assert result.created == [2027]
    with sessions() as session:
        assert load_office_calendar(session).years == frozenset()


def test_a_day_cannot_belong_to_two_stored_years(sessions: Sessions, tmp_path: Path) -> None:
    y2028 = tmp_path / "2028.yaml"
    y2028.write_text(
        "calendar:\n  2028:\n    holidays:\n"
        "      - {name: 元旦, from: 2027-12-31, to: 2028-01-02}\n",
        "utf-8",
    )
    with sessions.begin() as session:
        assert import_calendar(session, read_calendar(y2028), "2028.yaml").created == [2028]
    clash = tmp_path / "2027.yaml"
    clash.write_text(
        "calendar:\n  2027:\n    holidays:\n      - {name: 跨年, date: 2027-12-31}\n", "utf-8"
    )
    with sessions.begin() as session:
        result = import_calendar(session, read_calendar(clash), "2027.yaml")
    assert [str(e) for e in result.errors] == [
        "calendar row 2027: 2027-12-31 is already stored with the 2028 schedule "
        "(re-import 2028 too)"
    ]


def test_read_calendar_needs_the_section(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("regions: []\n", "utf-8")
    with pytest.raises(ValueError, match="no `calendar:` section"):
        read_calendar(path)


def test_directory_file_may_carry_the_calendar(sessions: Sessions, tmp_path: Path) -> None:
    directory = (ROOT / "examples" / "directory.yaml").read_text(encoding="utf-8")
    path = tmp_path / "all.yaml"
    path.write_text(directory + "\n" + EXAMPLE.read_text(encoding="utf-8"), "utf-8")
    with sessions.begin() as session:
        report = import_directory(session, path)
    assert report.calendar is not None and report.calendar.created == [2027]
    with sessions() as session:
        assert load_office_calendar(session).years == {2027}

    bad = tmp_path / "bad.yaml"
    bad.write_text(directory + "calendar:\n  2029:\n    holidays: [2029-01-01]\n", "utf-8")
    with sessions.begin() as session, pytest.raises(DirectoryImportError) as caught:
        import_directory(session, bad)
    assert [str(e) for e in caught.value.report.errors] == [
        "calendar row 2029 holidays 1: '2029-01-01': write {name: 春节, from: YYYY-MM-DD, to: ...}"
    ]
    with sessions() as session:
        assert load_office_calendar(session).years == {2027}
