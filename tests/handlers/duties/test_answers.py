"""The answer grammar: headers, letters, toggles, free text; never raises on user input."""

from __future__ import annotations

import pytest

from handlers.duties.answers import Step, apply_steps, header, missing, parse_steps
from handlers.duties.spec import Question

QS = (
    Question("总体意见", "single", ("赞成", "基本赞成", "不赞成")),
    Question("关注条款", "multiple", ("收费", "基金", "业委会", "停车")),
    Question("具体意见", "text", (), required=False),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#征集3 1A", ("survey", 3, "1A")),
        ("＃征集３ １Ａ", ("survey", 3, "1A")),
        ("征集3", ("survey", 3, "")),
        ("@连心 #投票12：1B", ("vote", 12, "1B")),
        ("问卷7 2AC", ("survey", 7, "2AC")),
    ],
)
def test_header(text: str, expected: tuple[str, int, str]) -> None:
    h = header(text)
    assert h is not None and (h.word_kind, h.solicitation_id, h.rest) == expected


@pytest.mark.parametrize(
    "text", ["征集意见", "#123 回复 征集3", "#征集1234567890 1A", "投票吧", ""]
)
def test_not_a_header(text: str) -> None:
    assert header(text) is None


def test_steps_and_apply() -> None:
    steps = parse_steps("1a 2C,A 3 建议 4 号楼加装电梯", QS)
    assert steps == [Step(1, ("A",)), Step(2, ("A", "C")), Step(3, "建议 4 号楼加装电梯")]
    assert isinstance(steps, list)
    answers = apply_steps({}, steps)
    assert answers == {"1": ["A"], "2": ["A", "C"], "3": "建议 4 号楼加装电梯"}
    toggled = apply_steps(answers, [Step(2, ("C",), toggle=True), Step(2, ("D",), toggle=True)])
    assert toggled["2"] == ["A", "D"]
    assert missing(apply_steps({}, [Step(1, ("B",))]), QS) == [2]


@pytest.mark.parametrize("text", ["x", "1", "1 同意", "0A", "1AB", "2+AB", "1+A", "3", "2E", "9B"])
def test_bad_steps_are_reasons(text: str) -> None:
    assert isinstance(parse_steps(text, QS), str)
