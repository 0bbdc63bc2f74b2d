"""`lianxin stats`: JSON, text and xlsx show the same numbers as the report builder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from tests.handlers.conftest import world
from tests.handlers.stats.test_report import _seed_month
from tests.handlers.world import World

__all__ = ["world"]
ARGS = ["stats", "--region", "K", "--from", "2026-11-16", "--to", "2026-11-30"]


@pytest.fixture()
def cli_db(world: World, database_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """The CLI pointed at the test database, seeded with the hand-counted month."""
    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    _seed_month(world)
    return world


def test_json_matches_hand_counts(cli_db: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    totals = report["totals"]
    assert totals["collected"]["value"] == 5
    assert (
        totals["timely_answer_rate"]["numerator"],
        totals["timely_answer_rate"]["denominator"],
    ) == (2, 4)
    assert totals["satisfaction_rate"]["value"] == 0.75
    assert report["region"] == {"code": "K", "name": "海州区"}
    assert "及时答复率" in json.dumps(report["definitions"], ensure_ascii=False)


def test_text_output_states_formulas(cli_db: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--by", "station"]) == 0
    out = capsys.readouterr().out
    assert "及时答复率：50.00%（2/4）" in out
    assert "满意率：75.00%（3/4）" in out
    assert "口径：" in out and "城南联络站" in out and "［小样本］" in out


def test_xlsx_equals_json(
    cli_db: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "stats.xlsx"
    assert main([*ARGS, "--by", "deputy", "--json", "--xlsx", str(path)]) == 0
    report = json.loads(capsys.readouterr().out)
    wb = load_workbook(path)
    assert wb.sheetnames == ["汇总", "按代表", "说明"]
    header = [c.value for c in wb["汇总"][1]]
    row = [c.value for c in wb["汇总"][2]]
    summary = dict(zip(header, row, strict=True))
    totals = report["totals"]
    assert summary["收集"] == totals["collected"]["value"]
    assert summary["及时答复率（%）"] == 50.0
    assert (summary["满意率分子"], summary["满意率分母"]) == (3, 4)
    notes = {r[0].value: r[1].value for r in wb["说明"].iter_rows(min_row=2)}
    assert notes["满意率"] == report["definitions"]["satisfaction_rate"]["formula"]
    deputies = [r[0].value for r in wb["按代表"].iter_rows(min_row=2)]
    assert sorted(deputies) == sorted(g["label"] for g in report["groups"])


def test_bad_options_exit_non_zero_with_help(
    cli_db: World, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--region", "nope", "--from", "2026-11-01", "--to", "2026-11-30"]) == 2
    assert "valid: C, K, T" in capsys.readouterr().err
    assert main(["stats", "--from", "2026-11-30", "--to", "2026-11-01"]) == 2
    assert "before it starts" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main(["stats", "--from", "30/11/2026", "--to", "2026-11-30"])
    assert done.value.code == 2
    assert "not a date like 2026-11-30" in capsys.readouterr().err


def test_json_contract_for_every_grouping(
    cli_db: World, capsys: pytest.CaptureFixture[str]
) -> None:
    for by in ("station", "deputy", "category", "source"):
        assert main([*ARGS, "--by", by, "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert set(report) == {"region", "window", "by", "totals", "groups", "definitions", "notes"}
        assert report["by"] == by
        for group in report["groups"]:
            assert {"key", "label", "figures"} <= set(group)
            rate = group["figures"]["satisfaction_rate"]
            assert {"value", "numerator", "denominator", "formula"} <= set(rate)
        collected = sum(g["figures"]["collected"]["value"] for g in report["groups"])
        assert collected == report["totals"]["collected"]["value"] == 5, by
    assert main([*ARGS, "--by", "source", "--json"]) == 0
    groups = json.loads(capsys.readouterr().out)["groups"]
    assert [(g["key"], g["label"]) for g in groups] == [("bot", "连心（微信）")]
