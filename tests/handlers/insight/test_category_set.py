"""A deployment's own category set: from config, trained on, used by 分类, card, brief, stats."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import yaml

from bot.config import ConfigError, load_settings
from bot.insight_config import category_set
from handlers import cards
from handlers.insight.brief import Row, build_brief, parse_week
from handlers.insight.category import categories, categorise
from handlers.insight.category_set import (
    CategoryChange,
    CategoryConfigError,
    build_set,
    default_set,
    use,
)
from handlers.insight.corrections import corrections
from handlers.stats.report import build_report
from tests.handlers.insight.test_brief import LAMP, seed_brief_cases
from tests.handlers.stats.test_report import CAL, NOV
from tests.handlers.world import World, replies

FIRE_FILE = Path(__file__).parents[2] / "fixtures" / "insight" / "category_fire_safety.yaml"
FIRE = "消防安全"


def _fire_examples() -> list[str]:
    return list(yaml.safe_load(FIRE_FILE.read_text(encoding="utf-8"))["examples"])


@pytest.fixture()
def deployment() -> Iterator[None]:
    """停车 renamed 停车管理, 违章搭建 removed, 消防安全 added (examples from the YAML file)."""
    use(
        build_set(
            remove=["违章搭建"],
            rename={"停车": "停车管理"},
            add=[CategoryChange(FIRE, {"灭火器": 3, "消防栓": 3}, tuple(_fire_examples()))],
        )
    )
    yield
    use(None)  # back to the default set for the other tests of this process


def test_default_set_is_insight_md() -> None:
    assert default_set().names[0] == "道路交通" and len(default_set().names) == 12


def test_rename_remove_and_add() -> None:
    cats = build_set(
        remove=["违章搭建"],
        rename={"停车": "停车管理"},
        add=[CategoryChange(FIRE, {}, tuple(_fire_examples()))],
    )
    assert "违章搭建" not in cats.names and "停车" not in cats.names
    assert cats.names[-1] == FIRE and "停车管理" in cats.names
    assert cats.canonical("停车") == "停车管理"  # stored under the old name: counts as new
    assert cats.label("违章搭建") == "违章搭建（已停用）"
    assert cats.label("停车") == "停车管理"
    # the borderline rules follow the rename and drop the removed category
    assert (("消防通道", "停车位", "停车场", "停车费", "车棚"), "停车管理") in cats.decisive
    assert all(target != "违章搭建" for _, target in cats.decisive)
    assert categorise("小区消防通道被私家车堵死了", cats).category == "停车管理"
    assert categorise("楼道里灭火器过期好几年了也没人管", cats).category == FIRE
    assert categorise("楼道里灭火器过期好几年了也没人管").category != FIRE  # default unchanged


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"remove": ["违建"]}, "'违建' is not a default category"),
        ({"rename": {"停车": "教育"}}, "two categories would be called '教育'"),
        ({"remove": ["停车"], "rename": {"停车": "泊车"}}, "both removed and renamed"),
        ({"add": [CategoryChange("消防安全", {}, ("太少了",))]}, "'消防安全' has 1"),
        ({"base": "none", "add": []}, "at least two categories"),
    ],
)
def test_bad_sets_are_refused_with_the_reason(kw: dict[str, object], message: str) -> None:
    with pytest.raises(CategoryConfigError, match=message):
        build_set(**kw)  # type: ignore[arg-type]


def _write(tmp_path: Path, body: str) -> Path:
    cfg = tmp_path / "lianxin.toml"
    cfg.write_text(body, encoding="utf-8")
    return cfg


def test_config_file_with_yaml_and_xlsx_examples(tmp_path: Path) -> None:
    (tmp_path / "fire.yaml").write_text(FIRE_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "text"])
    for i, text in enumerate(_fire_examples()):
        sheet.append([i, text.replace("灭火器", "灭火设施")])
    book.save(tmp_path / "more.xlsx")
    cfg = _write(
        tmp_path,
        """
[insight.categories]
remove = ["违章搭建"]
rename = { "停车" = "停车管理" }
[[insight.categories.add]]
name = "消防安全"
words = ["灭火器", "消防栓"]
examples_file = "fire.yaml"
[[insight.categories.add]]
name = "消防安全"
examples_file = "more.xlsx"
""",
    )
    cats = category_set(load_settings(cfg, environ={}))
    assert cats.names[-1] == FIRE and len(cats.names) == 12
    fire = next(c for c in cats.categories if c.name == FIRE)
    assert len(fire.examples) == 2 * len(_fire_examples())
    assert dict(fire.words) == {"灭火器": 3.0, "消防栓": 3.0}


def test_too_few_examples_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    cfg = _write(
        tmp_path,
        """
[[insight.categories.add]]
name = "消防安全"
examples = ["灭火器过期了", "消防栓坏了"]
""",
    )
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, environ={})
    msg = str(err.value)
    assert str(cfg) in msg and "[insight.categories]" in msg
    assert "'消防安全' has 2" in msg and "at least 30" in msg


def test_missing_file_and_unknown_key_are_named(tmp_path: Path) -> None:
    add = '[[insight.categories.add]]\nname = "消防安全"\n'
    cfg = _write(tmp_path, add + 'examples_file = "x.yaml"')
    with pytest.raises(ConfigError, match=r"examples_file .*x\.yaml not found"):
        load_settings(cfg, environ={})
    cfg = _write(tmp_path, '[insight.categories]\nrenames = { "停车" = "泊车" }')
    with pytest.raises(ConfigError, match=r"unknown key 'insight.categories.renames'.*rename"):
        load_settings(cfg, environ={})
    cfg = _write(tmp_path, '[[insight.categories.add]]\nname = "消防 安全"')
    with pytest.raises(ConfigError, match="no spaces"):
        load_settings(cfg, environ={})
    cfg = _write(tmp_path, '[insight.categories]\nrename = { "停车" = "停车 管理" }')
    with pytest.raises(ConfigError, match="without spaces"):
        load_settings(cfg, environ={})


def test_intake_command_and_card_use_the_configured_set(world: World, deployment: None) -> None:
    assert categories()[-1] == FIRE
    world.enter("s1")
    world.say("我们楼道的灭火器全都过期了，消防栓也没水")
    n = world.last_case_id()
    assert world.case(n).category == FIRE  # the model trained on the deployment's set
    out = world.text("u-zhang", f"#{n} 分类 违章搭建")  # removed: not a choice any more
    [reply] = replies(out, "u-zhang")
    assert "没有「违章搭建」这个分类" in reply.text
    assert [label for label, _ in reply.payload["choices"]] == [
        f"{name}（当前）" if name == FIRE else name for name in categories()
    ]
    world.text("u-zhang", f"#{n} 分类 停车管理")
    assert world.case(n).category == "停车管理"
    with world.sessions() as session:
        assert corrections(session)[-1]["category"] == "停车管理"


def test_a_case_stored_under_a_removed_category_still_shows(world: World, deployment: None) -> None:
    world.enter("s1")
    world.say("隔壁在农田上盖房子")
    n = world.last_case_id()
    with world.sessions() as session, session.begin():
        case = session.get(type(world.case(n)), n)
        assert case is not None
        case.category, case.category_source = "违章搭建", "model"  # stored before the change
    with world.sessions() as session:
        fields = dict(cards.case_card(session, n).fields)
    assert fields["分类"].startswith("违章搭建（已停用）")


def test_brief_and_stats_count_old_names_under_the_configured_set(world: World) -> None:
    seed_brief_cases(world)
    use(build_set(remove=["环境卫生"], rename={"停车": "停车管理"}))
    try:
        with world.sessions() as session:
            brief = build_brief(session, "K", parse_week("2026-W48"))
            report = build_report(session, region_code="K", window=NOV, calendar=CAL, by="category")
    finally:
        use(None)
    # the hand count of test_brief, under the deployment's names
    assert brief.by_category == (
        Row("停车管理", 3, 3, (1, 1, 1, 0)),
        Row(LAMP, 1, 3, (0, 0, 0, 1)),
        Row("环境卫生（已停用）", 1, 1, (0, 0, 0, 0)),
    )
    labels = {g.label: g.figures["collected"].value for g in report.groups}
    assert labels.get("停车管理") and "停车" not in labels
    assert "环境卫生（已停用）" in labels
