"""The workbench's 履职 pages: scoped like the other pages (403s), figures equal to
`lianxin deputies record|scores`, xlsx exports masked and audited."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.cli import main
from storage.models import AuditEntry
from tests.bot.workbench.conftest import Browser
from tests.handlers.duties.test_record import _seed_year
from tests.handlers.world import World

PHONE = "13912345678"


@pytest.fixture()
def year_of_duties(world: World, database_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """张伟's seeded 2026 (cases, survey, vote, visits), one visit naming a phone number."""
    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    _seed_year(world)
    world.text("u-zhang", f"登记 接待 11月12日 东湖村 联系人电话{PHONE}")
    return world


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def _page_total(html: str) -> str:
    found = re.search(r'id="duty-total">([^<]+)<', html)
    assert found is not None
    return found.group(1)


def test_a_deputy_reads_their_own_record_only(
    browser: Browser, year_of_duties: World, capsys: pytest.CaptureFixture[str]
) -> None:
    browser.login("u-zhang")
    landing = browser.client.get("/workbench/duties?year=2026")
    assert landing.status_code == 302 and landing.headers["Location"].endswith(
        "/workbench/duties/D1?year=2026"
    )
    html = browser.client.get("/workbench/duties/D1?year=2026").get_data(as_text=True)
    cli = _cli(capsys, "deputies", "record", "D1", "--year", "2026")
    total = re.search(r"履职积分合计: (\S+)", cli)
    assert total is not None and _page_total(html) == total.group(1) == "15.5"
    for line in cli.splitlines()[1:]:
        parts = line.split("  ")
        if len(parts) == 4 and parts[0][:4].isdigit():  # every activity of the CLI is on the page
            assert parts[1] in html and parts[0] in html
    assert PHONE not in html  # the activity text is masked on the page
    assert browser.client.get("/workbench/duties/D4?year=2026").status_code == 403
    assert browser.client.get("/workbench/export/duties/D4.xlsx").status_code == 403
    assert browser.client.get("/workbench/export/duty_scores.xlsx").status_code == 403


def test_station_staff_see_their_station_and_export_masked(
    browser: Browser, year_of_duties: World, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    browser.login("u-chen")  # staff of S1
    html = browser.client.get("/workbench/duties?year=2026").get_data(as_text=True)
    assert "D1 张伟" in html and "D2 李娜" in html and "D4 王强" not in html
    assert "城南联络站" in html and "城北联络站" not in html
    assert browser.client.get("/workbench/duties/D4?year=2026").status_code == 403
    assert browser.client.get("/workbench/duties/D5?year=2026").status_code == 403
    res = browser.client.get("/workbench/export/duties/D1.xlsx?year=2026")
    assert res.status_code == 200
    wb = load_workbook(io.BytesIO(res.data))
    rows = list(wb["履职档案"].iter_rows(min_row=2, values_only=True))
    cli_rows = [
        line.split("  ")
        for line in _cli(capsys, "deputies", "record", "D1", "--year", "2026").splitlines()
        if line[:4].isdigit()
    ]
    assert [(r[0], r[1]) for r in rows] == [(c[0], c[1]) for c in cli_rows]
    assert sum(r[3] for r in rows) == 15.5
    assert all(PHONE not in str(r[2]) for r in rows)  # masked
    scores = browser.client.get("/workbench/export/duty_scores.xlsx?year=2026")
    sheet = load_workbook(io.BytesIO(scores.data))["履职积分"]
    assert [r[:5] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        ("联络站", "S1", "城南联络站", 3, 15.5)
    ]
    with year_of_duties.sessions() as session:
        actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert {"view_duties", "export_duty_record", "export_duty_scores", "refused"} <= set(actions)


def test_office_sees_its_region_and_the_figures_equal_the_cli(
    browser: Browser, year_of_duties: World, capsys: pytest.CaptureFixture[str]
) -> None:
    browser.login("u-liu")  # office of 海州区 (K), which contains the township T
    html = browser.client.get("/workbench/duties?year=2026").get_data(as_text=True)
    cli = _cli(capsys, "deputies", "scores", "--year", "2026", "--region", "K")
    assert len(cli.splitlines()) == 1 + 2 + 3  # header, regions K and T, stations S1-S3
    for line in cli.splitlines()[1:]:
        level, code, *_ = line.split()
        total = line.split("  ")[-2].strip()
        assert f"<td>{code}</td>" in html, line
        row = html[html.index(f"<td>{code}</td>") :]
        assert f'<td class="num">{total}</td>' in row[: row.index("</tr>")], line
    assert 'data-deputy="D1">15.5<' in html and "D5 孙丽" in html
    assert browser.client.get("/workbench/duties/D5?year=2026").status_code == 200
