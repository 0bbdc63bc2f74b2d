"""The labelled insight sets are well formed: places, categories, traps, dates, groups."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from handlers.insight.category_set import LABELLED_EXAMPLES
from handlers.insight.data_files import load_jsonl
from handlers.insight.evaluate import TRAP_KINDS
from tests.handlers.insight.support import gazetteer, labelled

# The default twelve of /work/shared/insight.md, as the labels spell them.
CATEGORIES = {
    "道路交通",
    "市政设施(路灯/井盖)",
    "环境卫生",
    "噪音扰民",
    "物业管理",
    "停车",
    "供水供电燃气",
    "教育",
    "医疗卫生",
    "养老社保",
    "违章搭建",
    "其他建议",
}
BLIND = [
    "fresh4",
    "fresh5",
    "fresh7",
    "fresh8",
    "fresh9",
    "fresh10",
    "fresh11",
    "fresh12",
    "fresh13",
    "fresh14",
    "fresh15",
    "fresh16",
    "fresh17",
    "fresh18",
    "fresh19",
    "fresh20",
    "fresh21",
    "fresh22",
]
SETS = ["main", "holdout", "handwritten", "fresh2", "fresh3", *BLIND]


@pytest.mark.parametrize("which", SETS)
def test_every_line_is_labelled_with_known_values(which: str) -> None:
    g = gazetteer(which)
    names = {p.name for p in g.places.values()}
    rows = labelled(which)
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["category"] in CATEGORIES, r
        assert r.get("trap") in (None, *TRAP_KINDS), r
        assert r["place"] is None or r["place"] in names, r
        assert datetime.fromisoformat(r["created_at"]).utcoffset() == timedelta(hours=8), r
        assert (r.get("lat") is None) == (r.get("lng") is None), r


@pytest.mark.parametrize("which", BLIND)
def test_blind_sets_meet_their_brief(which: str) -> None:
    rows = labelled(which)
    members: dict[str, list[dict[str, object]]] = defaultdict(list)
    for r in rows:
        members[r["group"]].append(r)
    multi = [m for m in members.values() if 2 <= len(m) <= 6]
    assert len(rows) >= 150 and len(multi) >= 25
    assert len(gazetteer(which).places) >= 35
    for kind in TRAP_KINDS:
        assert sum(r.get("trap") == kind for r in rows) >= 6, kind
    for category in CATEGORIES:
        assert sum(r["category"] == category for r in rows) >= 6, category
    for group in members.values():
        times = [datetime.fromisoformat(str(r["created_at"])) for r in group]
        assert max(times) - min(times) <= timedelta(days=10), group
        assert len({r["place"] for r in group}) == 1, group
        assert len({r["category"] for r in group}) == 1, group


def test_the_shipped_category_examples_are_the_labelled_sets_as_they_are() -> None:
    # bench/insight_category_examples.py --write copies the sets; a set edited since must be
    # copied again, and a blind set joins only after its untuned figures are taken
    shipped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in load_jsonl(LABELLED_EXAMPLES):
        shipped[row["set"]].append((row["text"], row["category"]))
    assert set(shipped) <= set(SETS) | {"dev4", "fresh6"}
    for which, examples in shipped.items():
        assert examples == [(r["text"], r["category"]) for r in labelled(which)], which
