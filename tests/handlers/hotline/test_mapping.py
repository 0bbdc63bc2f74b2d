"""Hotline tables: category paths, longest-prefix mapping, --mapping overrides and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.hotline.mapping import MappingError, category_path, default_mapping, load_mapping


@pytest.mark.parametrize(
    "raw",
    [
        "城乡建设->市政设施->路灯",
        "城乡建设-->市政设施-->路灯",
        "城乡建设 → 市政设施 → 路灯",
        "城乡建设/市政设施/路灯",
        "城乡建设＞市政设施＞路灯",
        " 城乡建设>市政设施>路灯 ",
    ],
)
def test_category_paths_are_normalised(raw: str):
    assert category_path(raw) == "城乡建设->市政设施->路灯"


def test_default_mapping_uses_the_longest_listed_prefix():
    m = default_mapping()
    assert m.category_of("城乡建设->市政设施->路灯") == "市政设施(路灯/井盖)"
    assert m.category_of("城乡建设->市政设施->路灯->路灯不亮") == "市政设施(路灯/井盖)"
    assert m.category_of("城乡建设->市政设施->道路") == "道路交通"
    assert m.category_of("公安->交通管理->违章停车") == "停车"
    assert m.category_of("公安->交通管理->信号灯") == "道路交通"


def test_an_unlisted_path_gets_no_category_not_a_guess():
    m = default_mapping()
    assert m.category_of("农业农村->农田水利") is None
    assert m.category_of("城乡建设") is None  # a top level alone is too broad to map
    assert m.category_of("路灯") is None


def test_mapping_file_extends_and_overrides(tmp_path: Path):
    f = tmp_path / "map.yaml"
    f.write_text(
        "categories:\n"
        "  农业农村/农田水利: 其他建议\n"
        "  城乡建设->市政设施->路灯: 道路交通\n"
        "regions:\n  东湖街道: donghu\n"
        "statuses:\n  已督办: accepted\n"
        "satisfaction:\n  一般: basic\n",
        encoding="utf-8",
    )
    m = load_mapping(f)
    assert m.category_of("农业农村->农田水利->水渠") == "其他建议"
    assert m.category_of("城乡建设->市政设施->路灯") == "道路交通"
    assert m.category_of("城乡建设->市政设施->井盖") == "市政设施(路灯/井盖)"  # default kept
    assert m.regions == {"东湖街道": "donghu"}
    assert m.statuses["已督办"] == "accepted" and m.statuses["已办结"] == "closed"
    assert m.satisfaction["一般"] == "basic"
    assert default_mapping().category_of("农业农村->农田水利") is None  # defaults untouched


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("colours:\n  a: b\n", "unknown section 'colours'"),
        ("statuses:\n  已督办: doing\n", "allowed: new"),
        ("satisfaction:\n  一般: ok\n", "allowed: satisfied"),
        ("categories: [a, b]\n", "categories must map"),
        ("regions:\n  东湖街道:\n", "bad value"),
        ("- just a list\n", "must be a mapping"),
        ("categories: {a: [\n", "not valid YAML"),
    ],
)
def test_bad_mapping_files_are_refused_with_the_key(tmp_path: Path, text: str, needle: str):
    f = tmp_path / "map.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(f)
    assert needle in str(caught.value) and "map.yaml" in str(caught.value)
