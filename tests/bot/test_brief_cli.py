"""`lianxin insight brief` through the real CLI entry point: text, xlsx, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from tests.handlers.insight.test_brief import seed_brief_cases
from tests.handlers.world import World, seed


@pytest.fixture()
def cli_world(
    sessions: sessionmaker[Session], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> World:
    """The seeded directory and brief cases, in the CLI's configured database."""
    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    with sessions() as session, session.begin():
        ids = seed(session)
    world = World(sessions, ids)
    seed_brief_cases(world)
    return world


def test_brief_prints_and_writes_xlsx(
    cli_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "brief.xlsx"
    args = ["insight", "brief", "--region", "K", "--week", "2026-W48", "--xlsx", str(out)]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "海州区热点专报 2026-W48" in first and "本周收到诉求 **5** 件" in first
    assert main(args[:-2]) == 0
    assert capsys.readouterr().out == first  # the same numbers on a second run
    book = load_workbook(out)
    assert book.sheetnames == ["概况", "按分类", "按地点", "复发", "未办结热点", "口径"]
    rows = list(book["按分类"].iter_rows(values_only=True))
    assert rows[1][:3] == ("停车", 3, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "K", "--week", "48"], "not like 2026-W48"),
        (["--region", "ZZ", "--week", "2026-W48"], "unknown region"),
    ],
)
def test_brief_refuses_bad_input(
    cli_world: World, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["insight", "brief", *args]) == 2
    assert message in capsys.readouterr().err
