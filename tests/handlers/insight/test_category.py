"""Category: lexicon and the trained linear model, insight.md's borderline rules."""

from __future__ import annotations

from collections import Counter

import pytest

from handlers.insight.category import categories, categorise, training_examples
from handlers.insight.evaluate import macro_f1
from tests.handlers.insight.support import labelled


def test_shipped_examples_cover_every_category_at_least_30_times() -> None:
    counts = Counter(cat for _, cat in training_examples())
    assert set(counts) == set(categories())
    assert min(counts.values()) >= 30


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("二中门口放学堵得走不动", "道路交通"),
        ("公交站的车一小时才一班", "道路交通"),
        ("小区井盖松了晚上车一过就哐当响吵得睡不着", "市政设施(路灯/井盖)"),
        ("公厕太脏了没人打扫", "环境卫生"),
        ("公厕一直锁着门上不了厕所", "其他建议"),
        ("半夜有人骑摩托炸街", "噪音扰民"),
        ("电梯又坏了", "物业管理"),
        ("县医院停车太难了找不到车位", "停车"),
        ("校车太挤了", "教育"),
        ("我们这里的人大代表是谁", "其他建议"),
    ],
)
def test_borderline_rules(text: str, category: str) -> None:
    assert categorise(text).category == category


def test_confidence_and_source() -> None:
    result = categorise("自来水发黄不能喝")
    assert result.category == "供水供电燃气"
    assert 0 < result.confidence <= 1
    assert result.source in ("model", "lexicon")


def test_accuracy_on_the_labelled_set() -> None:
    rows = labelled("main")
    predicted = [categorise(r["text"]).category for r in rows]
    truth = [r["category"] for r in rows]
    accuracy = sum(p == t for p, t in zip(predicted, truth, strict=True)) / len(rows)
    assert accuracy >= 0.9
    assert macro_f1(truth, predicted) >= 0.88
