"""The text a deputy sends to answer (or a card link sends for them): `#征集3 1A 2BC 3 意见…`.

Grammar, after the header `#征集<id>` / `#投票<id>` (`#` optional, full-width tolerated):
a sequence of `<question number> <answer>`; a choice answer is option letters (`B`, `AC`, `A,C`),
`+B` toggles one option of a multiple-choice question (what a card link sends); a free-text
answer takes the rest of the message, so it comes last. Never raises on user input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.duties import texts
from handlers.duties.spec import Question

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９＃＋ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ"
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ",
    "0123456789#+ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
)
HEADER = re.compile(
    r"^\s*(?:[@＠]\S*\s+)*#?\s*(征集|问卷|投票)\s*(\d{1,9})(?=\s|$|[:：])[\s:：]*(.*)$", re.S
)
_SEP = re.compile(r"[\s,，、;；]*")
_QNUM = re.compile(r"(\d{1,3})[\s:：.．、)）]*")
_LETTERS = re.compile(r"(\+?)([A-Za-z](?:[,，、/]?[A-Za-z])*)(?![A-Za-z\u4e00-\u9fff])")
WORDS = {"征集": "survey", "问卷": "survey", "投票": "vote"}


@dataclass(frozen=True)
class Header:
    """`#征集3 …`: which kind the sender named, the id, and the rest of the text."""

    word_kind: str  # survey | vote
    solicitation_id: int
    rest: str


@dataclass(frozen=True)
class Step:
    """One answer in a message: set a question's answer, or toggle one option."""

    question: int  # 1-based
    value: tuple[str, ...] | str  # letters for a choice, text for free text
    toggle: bool = False


def header(text: str) -> Header | None:
    """The `#征集<id>` header of a message, or None when the message is not an answer."""
    m = HEADER.match(text.translate(_FULLWIDTH))
    if m is None:
        return None
    return Header(WORDS[m.group(1)], int(m.group(2)), m.group(3).strip())


def parse_steps(rest: str, questions: tuple[Question, ...]) -> list[Step] | str:
    """The answers in `rest`, or a polite reason why they cannot be read."""
    s = rest.translate(_FULLWIDTH)
    steps: list[Step] = []
    while True:
        s = s[_SEP.match(s).end() :]  # type: ignore[union-attr]
        if not s:
            break
        m = _QNUM.match(s)
        if m is None:
            return texts.answer_unreadable(s[:10])
        n = int(m.group(1))
        if not 1 <= n <= len(questions):
            return texts.no_such_question(n, len(questions))
        s = s[m.end() :]
        q = questions[n - 1]
        if not q.is_choice:
            if not s.strip():
                return texts.text_answer_empty(n)
            steps.append(Step(n, s.strip()))
            break
        step = _choice(n, q, s)
        if isinstance(step, str):
            return step
        steps.append(step[0])
        s = s[step[1] :]
    if not steps:
        return texts.answer_empty()
    return steps


def _choice(n: int, q: Question, s: str) -> tuple[Step, int] | str:
    m = _LETTERS.match(s)
    if m is None:
        return texts.choice_expected(n, len(q.options))
    letters = tuple(dict.fromkeys(c for c in m.group(2).upper() if c.isalpha()))
    limit = chr(ord("A") + len(q.options) - 1)
    if any(c > limit for c in letters):
        return texts.choice_out_of_range(n, limit)
    toggle = bool(m.group(1))
    if q.type == "single" and (len(letters) != 1):
        return texts.single_choice_only(n)
    if toggle and (q.type != "multiple" or len(letters) != 1):
        return texts.choice_expected(n, len(q.options))
    return Step(n, tuple(sorted(letters)), toggle=toggle), m.end()


def apply_steps(answers: dict[str, object], steps: list[Step]) -> dict[str, object]:
    """A new answers mapping with `steps` applied (keys are question numbers as strings)."""
    out = dict(answers)
    for step in steps:
        key = str(step.question)
        if step.toggle:
            current = set(out.get(key) or ())  # type: ignore[call-overload]
            current ^= set(step.value)
            if current:
                out[key] = sorted(current)
            else:
                out.pop(key, None)
        else:
            out[key] = list(step.value) if isinstance(step.value, tuple) else step.value
    return out


def missing(answers: dict[str, object], questions: tuple[Question, ...]) -> list[int]:
    """Numbers of required questions not answered yet."""
    return [n for n, q in enumerate(questions, 1) if q.required and not answers.get(str(n))]
