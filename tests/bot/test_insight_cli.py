"""`lianxin insight cluster` and `lianxin directory places` through the real CLI entry point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from handlers.insight.evaluate import score
from storage.models import Case, Place

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "insight"


@pytest.fixture()
def cli_db(
    sessions: sessionmaker[Session], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    """The test database as the CLI's configured database."""
    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    return sessions


@pytest.mark.parametrize("which", ["main", "holdout"])
def test_cluster_on_the_fixture(
    which: str, cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "import", str(FIXTURES / which / "places.yaml")]) == 0
    capsys.readouterr()
    source = FIXTURES / which / "messages.jsonl"
    assert main(["insight", "cluster", "--input", str(source)]) == 0
    captured = capsys.readouterr()
    outcomes = [json.loads(line) for line in captured.out.splitlines()]
    labelled = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    assert [o["id"] for o in outcomes] == [m["id"] for m in labelled]
    assert all(set(o) == {"id", "group", "category", "place"} for o in outcomes)
    by_id = {o["id"]: o for o in outcomes}
    # `group` is the id of the group's first message, which is in its own group
    assert all(by_id[o["group"]]["group"] == o["group"] for o in outcomes)
    figures = score(labelled, outcomes)
    assert figures.f1 >= 0.85 and figures.category_accuracy >= 0.88, figures
    assert figures.false_merges["later"] == 0
    assert "with no resolved place" in captured.err
    with cli_db() as s:
        assert s.scalar(select(func.count(Case.id))) == 0  # writes nothing
        assert s.scalar(select(func.count(Place.id))) > 0


def test_unknown_place_is_null_and_counted(
    cli_db: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "import", str(FIXTURES / "main" / "places.yaml")]) == 0
    source = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "text": "火星路的路灯坏了", "created_at": "2026-05-01T09:00:00+08:00"},
        {"id": "b", "text": "阳光花园路灯不亮", "created_at": "2026-05-01T10:00:00+08:00"},
    ]
    source.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    capsys.readouterr()
    assert main(["insight", "cluster", "--input", str(source)]) == 0
    captured = capsys.readouterr()
    out = [json.loads(line) for line in captured.out.splitlines()]
    assert out[0]["place"] is None and out[1]["place"] == "阳光花园"
    assert "1 with no resolved place" in captured.err


def test_bad_input_lines_are_named(
    cli_db: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"id": "a", "text": "x"}\nnot json\n', "utf-8")
    assert main(["insight", "cluster", "--input", str(source)]) == 1
    err = capsys.readouterr().err
    assert "line 1: missing created_at" in err and "line 2: not JSON" in err


def test_directory_places_lists_variants(
    cli_db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "import", str(FIXTURES / "main" / "places.yaml")]) == 0
    capsys.readouterr()
    assert main(["directory", "places"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("桐川县第二中学"))
    assert "二中" in line and "第二中学" in line


def test_corrections_export_empty(
    cli_db: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "c.jsonl"
    assert main(["insight", "corrections", "--out", str(target)]) == 0
    assert target.read_text() == ""


@pytest.fixture()
def configured(
    cli_db: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A config file whose category set renames 道路交通 and adds 消防安全 (from a YAML file)."""
    from handlers.insight.category_set import use

    cfg = tmp_path / "lianxin.toml"
    fire = FIXTURES / "category_fire_safety.yaml"
    cfg.write_text(
        f"""
[insight.categories]
rename = {{ "道路交通" = "交通出行" }}
[[insight.categories.add]]
name = "消防安全"
words = ["灭火器"]
examples_file = "{fire}"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))  # main() exports it; restored afterwards
    yield cfg
    use(None)  # the command installed the deployment's set in this process


def test_cluster_uses_the_configured_categories(
    configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["directory", "import", str(FIXTURES / "main" / "places.yaml")]) == 0
    source = tmp_path / "in.jsonl"
    lines = [
        {"id": "a", "text": "楼道灭火器过期了没人换", "created_at": "2026-05-01T09:00:00+08:00"},
        {"id": "b", "text": "路口红绿灯坏了", "created_at": "2026-05-01T10:00:00+08:00"},
    ]
    source.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), "utf-8")
    capsys.readouterr()
    assert main(["--config", str(configured), "insight", "cluster", "--input", str(source)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["category"] for o in out] == ["消防安全", "交通出行"]


def test_a_category_without_enough_examples_stops_the_command(
    cli_db: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = tmp_path / "lianxin.toml"
    cfg.write_text('[[insight.categories.add]]\nname = "消防安全"\nexamples = ["灭火器过期"]\n')
    monkeypatch.setenv("LIANXIN_CONFIG", str(cfg))
    assert main(["insight", "cluster", "--input", str(tmp_path / "none.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "'消防安全' has 1" in err and "at least 30" in err
