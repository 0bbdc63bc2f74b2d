"""`lianxin calendar import/status`, `directory import --dry-run/export`, and the calendar job."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import jobs
from bot.cli import main
from bot.runtime import CLOCK_OFFSET_KEY, Runtime
from storage.directory import export_directory
from storage.models import CalendarYear, KeyValue, OutboxItem

ROOT = Path(__file__).resolve().parents[2]
CALENDAR = ROOT / "examples" / "calendar-2027.yaml"
DIRECTORY = ROOT / "examples" / "directory.yaml"
Sessions = sessionmaker[Session]


@pytest.fixture()
def cli(
    sessions: Sessions, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Sessions:
    """`lianxin` on the test database, its service clock on Thursday 2026-12-10."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    monkeypatch.setenv("LIANXIN_VAR_DIR", str(tmp_path / "var"))
    set_clock(sessions, datetime(2026, 12, 10, 2, tzinfo=UTC))
    return sessions


def set_clock(sessions: Sessions, when: datetime) -> None:
    with sessions.begin() as session:
        offset = (when - datetime.now(UTC)).total_seconds()
        session.merge(KeyValue(key=CLOCK_OFFSET_KEY, value=repr(offset)))


def test_calendar_status_import_and_status_again(
    cli: Sessions, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["calendar", "status"]) == 1  # 2027 is needed and missing
    out = capsys.readouterr().out
    assert "library (chinesecalendar 1.11.0): 2004–2026" in out
    assert "office: no years imported" in out and "MISSING: 2027" in out

    assert main(["calendar", "import", "--dry-run", str(CALENDAR)]) == 0
    assert "calendar would be created: 2027" in capsys.readouterr().out
    with cli() as session:
        assert session.scalars(select(CalendarYear)).all() == []

    assert main(["calendar", "import", str(CALENDAR)]) == 0
    assert "calendar created: 2027" in capsys.readouterr().out
    assert main(["calendar", "import", str(CALENDAR)]) == 0
    assert "calendar unchanged: 2027" in capsys.readouterr().out

    assert main(["calendar", "status"]) == 0
    out = capsys.readouterr().out
    assert "office: 2027 from calendar-2027.yaml, imported " in out
    assert "(27 holidays, 3 调休 workdays) — 虚构示例" in out
    assert "every year deadlines need now is covered" in out


def test_a_bad_calendar_file_imports_nothing(
    cli: Sessions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("calendar:\n  2027:\n    holidays:\n      - {name: 元旦, date: 2027-13-01}\n")
    assert main(["calendar", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing imported, 1 problem(s)" in err and "'2027-13-01' is not a date" in err
    assert main(["calendar", "import", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml" in capsys.readouterr().err


def test_directory_dry_run_then_export_round_trip(
    cli: Sessions, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "import", "--dry-run", str(DIRECTORY)]) == 0
    out = capsys.readouterr().out
    assert "dry run: nothing written" in out and "create deputy 'd001' (张明)" in out
    assert "would be created: regions 4, stations 3, deputies 6" in out
    with cli() as session:
        assert export_directory(session)["deputies"] == []

    assert main(["directory", "import", str(DIRECTORY)]) == 0
    capsys.readouterr()
    sheet = tmp_path / "代表名单.xlsx"
    assert main(["directory", "export", "--out", str(sheet)]) == 0
    assert main(["directory", "import", str(sheet)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "unchanged: deputies 6"
    assert main(["directory", "export"]) == 0
    assert capsys.readouterr().out.startswith(
        "序号,编号,姓名,手机号,所属联络站,钉钉ID,层级,值班,是否在任"
    )


def test_calendar_job_tells_each_office_group_once_and_context_uses_the_db(
    rt: Runtime, sessions: Sessions
) -> None:
    from storage.calendar import import_calendar, read_calendar
    from storage.directory import import_directory

    with sessions.begin() as session:
        import_directory(session, DIRECTORY)  # office group cid_qingxi_office==
    set_clock(sessions, datetime(2026, 12, 10, 2, tzinfo=UTC))
    assert jobs.check_calendar() == "calendar: 1"
    assert jobs.check_calendar() == "calendar: 0"
    with sessions() as session:
        (row,) = session.scalars(select(OutboxItem)).all()
        assert row.dedupe_key == "calendar-missing:2027:cid_qingxi_office=="
        assert row.payload["conversation_id"] == "cid_qingxi_office=="
        assert "2027年法定节假日" in row.payload["text"]
        assert not jobs.handler_context(rt, session).calendar.covers(2027)

    with sessions.begin() as session:
        import_calendar(session, read_calendar(CALENDAR), "calendar-2027.yaml")
    with sessions() as session:
        cal = jobs.handler_context(rt, session).calendar
        assert cal.covers(2027) and not cal.is_workday(datetime(2027, 1, 1).date())
    assert jobs.check_calendar() == "calendar: 0"
