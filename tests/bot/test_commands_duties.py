"""`lianxin deputies record|scores` and `lianxin solicit` errors: text and xlsx agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from tests.handlers.conftest import world
from tests.handlers.duties.test_record import _seed_year
from tests.handlers.world import World

__all__ = ["world"]


@pytest.fixture()
def cli_db(world: World, database_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """The CLI pointed at the test database, seeded with a year of 张伟's activities."""
    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    _seed_year(world)
    return world


def test_record_prints_every_activity_and_writes_xlsx(
    cli_db: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "d1.xlsx"
    assert main(["deputies", "record", "D1", "--year", "2026", "--xlsx", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("D1 张伟 — 履职档案 2026")
    assert "2026-11-10  登记履职活动  走访 东湖村 走访选民10户  +1" in out
    assert "履职积分合计: 14.5" in out
    wb = load_workbook(path)
    rows = list(wb["履职档案"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 13 and sum(r[3] for r in rows) == 14.5
    assert list(wb["积分汇总"].iter_rows(values_only=True))[-1] == ("合计", 13, 14.5)


def test_scores_and_config_weights(
    cli_db: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["deputies", "scores", "--year", "2026", "--region", "K"]) == 0
    out = capsys.readouterr().out
    assert "station  S1 城南联络站  3  14.5  4.83" in out
    monkeypatch.setenv("LIANXIN_DUTIES__POINTS__CASE_ANSWERED", "3")
    assert main(["deputies", "record", "D1", "--year", "2026"]) == 0
    assert "履职积分合计: 16.5" in capsys.readouterr().out


def test_unknown_deputy_weight_and_solicitation(
    cli_db: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["deputies", "record", "D99", "--year", "2026"]) == 1
    assert "no deputy" in capsys.readouterr().err
    assert main(["solicit", "results", "999"]) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: x\nquestions: []\n", encoding="utf-8")
    assert main(["solicit", "create", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "questions" in err and "deadline" in err and "audience" in err
    monkeypatch.setenv("LIANXIN_DUTIES__POINTS__CASE_TYPO", "3")
    assert main(["deputies", "record", "D1", "--year", "2026"]) == 2
    assert "unknown [duties.points] keys" in capsys.readouterr().err


def test_meeting_qrcode_opens_the_h5_checkin_page_when_public_url_is_set(
    world: World,
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handlers.duties import meeting
    from tests.handlers.duties.helpers import BJ, load

    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    spec = meeting.parse_meeting(load("meeting.yaml"), BJ)
    with world.sessions() as session, session.begin():
        m = meeting.create(session, world.ctx(), spec)
        mid, token = m.id, m.checkin_token
    png = tmp_path / "checkin.png"
    monkeypatch.setenv("LIANXIN_WEB__PUBLIC_URL", "https://lianxin.example.gov.cn/")
    assert main(["meeting", "qrcode", str(mid), "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert f"https://lianxin.example.gov.cn/workbench/checkin/{token}" in out
    assert png.stat().st_size > 0
    assert main(["meeting", "qrcode", str(mid), "--out", str(png), "--dtmd"]) == 0
    assert "dtmd://dingtalkclient/sendMessage" in capsys.readouterr().out
    monkeypatch.delenv("LIANXIN_WEB__PUBLIC_URL")
    assert main(["meeting", "qrcode", str(mid), "--out", str(png)]) == 0
    assert "dtmd://dingtalkclient/sendMessage" in capsys.readouterr().out
