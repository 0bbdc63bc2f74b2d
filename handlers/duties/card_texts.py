"""The solicitation card of the DingTalk card template (`solicit_card.template.json`).

One card per deputy (their 1:1 chat with the bot), so the card can show that deputy's own
answers in the public cardParamMap. Every value is a string; the option buttons are one loop
(`options`, a JSON-encoded array) whose items carry the answer fragment a click sends back
(`1A`, `2+B`, or `3` for a free-text question, whose text comes from the card's input box).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from handlers.duties import answers as ans
from handlers.duties import texts
from handlers.duties.spec import Question, questions_from_json
from handlers.texts import fmt_when
from storage.models import Solicitation, SolicitTarget

BUSY = "提交中…"
STATE_LABELS = {
    "open": "请作答",
    "partial": "未完成",
    "submitted": "已提交",
    "voted": "已投票",
    "closed": "已截止",
}
PARAM_NAMES = (
    "solicitation_id", "kind", "title", "intro_md", "state", "state_label", "answers_md",
    "options", "has_text", "closed", "note", "busy",
)  # fmt: skip


def state(sol: Solicitation, row: SolicitTarget, now: datetime) -> str:
    """open | partial | submitted | voted | closed, as the card shows it."""
    if sol.closed_at is not None or now >= sol.deadline:
        return "closed"
    if row.status == "answered":
        return "submitted"
    if row.status in ("partial", "voted"):
        return row.status
    return "open"


def _intro(sol: Solicitation) -> str:
    lines = [sol.body] if sol.body else []
    if sol.documents:
        docs = "、".join(
            f"[{d['title']}]({d['url']})" if d.get("url") else d["title"] for d in sol.documents
        )
        lines.append(f"**相关文件**：{docs}")
    lines.append(f"**截止时间**：{fmt_when(sol.deadline)}")
    return "  \n".join(lines)


def _answers_md(sol: Solicitation, qs: tuple[Question, ...], row: SolicitTarget) -> str:
    if row.status == "voted":
        if sol.secret:
            return "**您已投票**（无记名，选票与您的姓名分开保存，此处不显示您的选择）"
        return "**您的选票**  \n" + texts.answer_lines(qs, row.answers or {}).replace("\n", "  \n")
    given: Mapping[str, object] = row.answers or {}
    if not given:
        return ""
    missing = ans.missing(dict(given), qs)
    head = f"**尚缺第 {'、'.join(map(str, missing))} 题**" if missing else "**您的回答**"
    return head + "  \n" + texts.answer_lines(qs, given).replace("\n", "  \n")


def _options(
    sol: Solicitation, qs: tuple[Question, ...], row: SolicitTarget
) -> list[dict[str, str]]:
    """The loop items: one per option (or one per free-text question), headed per question."""
    if sol.kind == "vote" and (row.status == "voted" or len(qs) > 1):
        return []  # a ballot is cast once; a vote of several questions is typed whole
    given: Mapping[str, object] = row.answers or {}
    items = []
    for n, q in enumerate(qs, 1):
        heading = f"{n}. {q.text}（{texts.TYPE_LABELS[q.type]}）"
        if not q.is_choice:
            done = "已答" if given.get(str(n)) else ""
            items.append(_item(heading, "在下方输入框填写后点此提交", str(n), done != "", "text"))
            continue
        chosen = set(given.get(str(n)) or ())  # type: ignore[call-overload]
        for i, option in enumerate(q.options):
            letter = chr(65 + i)
            sign = "+" if q.type == "multiple" and sol.kind != "vote" else ""
            items.append(
                _item(heading if i == 0 else "", f"{letter}. {option}", f"{n}{sign}{letter}",
                      letter in chosen, "choice")
            )  # fmt: skip
    return items


def _item(heading: str, label: str, answer: str, selected: bool, kind: str) -> dict[str, str]:
    return {
        "heading": heading,
        "label": label,
        "answer": answer,
        "selected": "true" if selected else "false",
        "kind": kind,
    }


def card_params(
    sol: Solicitation, row: SolicitTarget, now: datetime, note: str = ""
) -> dict[str, str]:
    """The full cardParamMap of one deputy's solicitation card (every value a string)."""
    qs = questions_from_json(sol.questions)
    st = state(sol, row, now)
    label = STATE_LABELS[st]
    if st == "closed":
        when = fmt_when(sol.closed_at or sol.deadline)
        label = f"已截止（{when}）"
    options = [] if st == "closed" else _options(sol, qs, row)
    return {
        "solicitation_id": str(sol.id),
        "kind": sol.kind,
        "title": f"【{texts.kind_label(sol)}】{sol.title}",
        "intro_md": _intro(sol),
        "state": st,
        "state_label": label,
        "answers_md": _answers_md(sol, qs, row),
        "options": json.dumps(options, ensure_ascii=False),
        "has_text": "true" if any(o["kind"] == "text" for o in options) else "false",
        "closed": "true" if st == "closed" else "false",
        "note": note,
        "busy": "",
    }


def busy_params() -> dict[str, str]:
    """What the click's ACK changes on the card: 「提交中…」 until the worker's update."""
    return {"busy": BUSY}
