"""Every Chinese text of 代表履职 (solicitations, votes, 履职档案), polite and short.

Cards are DingTalk markdown: choice buttons are `dtmd://dingtalkclient/sendMessage` links that
send the answer command as the deputy (platforms/dingtalk.md §7), so the same text path serves
typed and clicked answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from handlers.duties.spec import Question
from handlers.texts import BEIJING, fmt_when
from storage.models import Solicitation

__all__ = ["BEIJING"]

TYPE_LABELS = {"single": "单选", "multiple": "多选，可点多项", "text": "文字"}


def word(sol: Solicitation) -> str:
    """The command word of a solicitation: 征集 or 投票."""
    return "投票" if sol.kind == "vote" else "征集"


def command(sol: Solicitation, rest: str = "") -> str:
    """The answer command, e.g. `#征集3 1A`."""
    return f"#{word(sol)}{sol.id} {rest}".strip()


def dtmd(label: str, text: str) -> str:
    """A markdown link that sends `text` to the bot as the clicking user."""
    return f"[{label}](dtmd://dingtalkclient/sendMessage?content={quote(text, safe='')})"


def _kind_label(sol: Solicitation) -> str:
    if sol.kind == "vote":
        return "无记名投票" if sol.secret else "投票"
    return "意见征集"


def kind_label(sol: Solicitation) -> str:
    """意见征集 / 投票 / 无记名投票."""
    return _kind_label(sol)


def answer_lines(questions: tuple[Question, ...], answers: Mapping[str, object]) -> str:
    """One line per question with the deputy's answer (or 未答)."""
    return _answer_lines(questions, answers)


def solicit_card(sol: Solicitation, questions: tuple[Question, ...]) -> tuple[str, str]:
    """Title and markdown of the card every deputy in the audience receives."""
    lines = [f"### 【{_kind_label(sol)}】{sol.title}"]
    if sol.body:
        lines.append(sol.body)
    if sol.documents:
        docs = "、".join(
            f"[{d['title']}]({d['url']})" if d.get("url") else d["title"] for d in sol.documents
        )
        lines.append(f"**相关文件**：{docs}")
    lines.append(f"**截止时间**：{fmt_when(sol.deadline)}")
    for n, q in enumerate(questions, 1):
        lines.append(f"**{n}. {q.text}**（{TYPE_LABELS[q.type]}）")
        lines.extend(_option_lines(sol, n, q, len(questions)))
    lines.append(_how(sol, questions))
    return f"{_kind_label(sol)}：{sol.title}", "\n\n".join(lines)


def _option_lines(sol: Solicitation, n: int, q: Question, total: int) -> list[str]:
    if not q.is_choice:
        return [f"请直接回复：{command(sol, f'{n} 您的意见')}"]
    clickable = sol.kind != "vote" or total == 1  # a vote with several questions is typed whole
    out = []
    for i, option in enumerate(q.options):
        letter = chr(65 + i)
        label = f"{letter}. {option}"
        if clickable:
            sign = "+" if q.type == "multiple" and sol.kind != "vote" else ""
            out.append(dtmd(label, command(sol, f"{n}{sign}{letter}")))
        else:
            out.append(label)
    return [" ｜ ".join(out)]


def _how(sol: Solicitation, questions: tuple[Question, ...]) -> str:
    example = " ".join(
        f"{n}{'A' if q.is_choice else ' 意见内容'}" for n, q in enumerate(questions, 1)
    )
    if sol.kind == "vote":
        return f"一人一票，投出后不能更改。也可直接回复：{command(sol, example)}" + (
            "（无记名，选票与您的姓名分开保存）" if sol.secret else ""
        )
    return f"截止前可随时修改。也可一次回复：{command(sol, example)}"


def _answer_text(q: Question, value: object) -> str:
    if not value:
        return "（未答）"
    if isinstance(value, list):
        return "、".join(
            f"{c}. {q.options[ord(c) - 65]}" for c in value if ord(c) - 65 < len(q.options)
        )
    return str(value)


def _answer_lines(questions: tuple[Question, ...], answers: Mapping[str, object]) -> str:
    return "\n".join(
        f"{n}. {q.text}：{_answer_text(q, answers.get(str(n)))}" for n, q in enumerate(questions, 1)
    )


def answers_recorded(
    sol: Solicitation,
    questions: tuple[Question, ...],
    answers: Mapping[str, object],
    missing: list[int],
    changed: bool,
) -> str:
    """The answer card after a click or text: 已提交 (or what is still missing)."""
    if missing:
        todo = "、".join(str(n) for n in missing)
        head = f"【{sol.title}】已记录，尚缺第 {todo} 题，答完即提交。"
    else:
        head = f"【{sol.title}】{'已修改并提交' if changed else '已提交'}，谢谢您的意见！"
    tail = f"截止 {fmt_when(sol.deadline)} 前可修改。"
    return f"{head}\n{_answer_lines(questions, answers)}\n{tail}"


def current_answers(
    sol: Solicitation, questions: tuple[Question, ...], answers: Mapping[str, object]
) -> str:
    """What the deputy has answered so far."""
    lines = _answer_lines(questions, answers)
    return f"【{sol.title}】您目前的回答：\n{lines}\n{_how(sol, questions)}"


def solicit_reminder(sol: Solicitation, questions: tuple[Question, ...]) -> tuple[str, str]:
    """The reminder to deputies who have not answered yet (the card again, with a line above)."""
    title, card = solicit_card(sol, questions)
    return (
        f"提醒：{title}",
        f"**温馨提醒：本次{_kind_label(sol)}将于 {fmt_when(sol.deadline)} 截止，"
        f"您尚未完成。**\n\n{card}",
    )


def not_found(number: int) -> str:
    """No such solicitation."""
    return f"没有找到编号为 {number} 的意见征集或投票，请核对编号。"


def not_in_audience(sol: Solicitation) -> str:
    """The sender was not asked."""
    return f"您不在【{sol.title}】的征求范围内，如有疑问请联系联络站工作人员。"


def closed(sol: Solicitation) -> str:
    """A late answer, refused politely."""
    when = fmt_when(sol.closed_at or sol.deadline)
    return f"【{sol.title}】已于 {when} 截止，本次回复未能记录。感谢您的关注！"


def wrong_word(sol: Solicitation) -> str:
    """`#投票3` for a survey or `#征集5` for a vote."""
    return f"编号 {sol.id} 是{_kind_label(sol)}，请用「{command(sol)} …」回复。"


def answer_unreadable(fragment: str) -> str:
    """Text that is not `<题号> <答案>`."""
    return f"没能看懂「{fragment}」。请按「题号 答案」回复，例如「1A 2BC」。"


def no_such_question(n: int, total: int) -> str:
    """A question number out of range."""
    return f"没有第 {n} 题（共 {total} 题），请核对题号。"


def text_answer_empty(n: int) -> str:
    """A free-text question with nothing after it."""
    return f"第 {n} 题请写下您的意见，例如「{n} 建议增加……」。"


def answer_empty() -> str:
    """A header with no answers."""
    return "请在编号后写上答案，例如「1A」。"


def choice_expected(n: int, options: int) -> str:
    """A choice question answered with something else."""
    last = chr(64 + options)
    return f"第 {n} 题请用选项字母作答（A–{last}）。"


def choice_out_of_range(n: int, last: str) -> str:
    """A letter beyond the last option."""
    return f"第 {n} 题只有 A–{last} 这些选项，请重新选择。"


def single_choice_only(n: int) -> str:
    """Several letters for a single-choice question."""
    return f"第 {n} 题是单选题，请只选一项。"


def ballot_how(sol: Solicitation) -> str:
    """An empty ballot."""
    return f"请写上您的选择，例如「{command(sol, '1A')}」。"


def ballot_unreadable(sol: Solicitation) -> str:
    """A secret ballot that could not be read (its text is not repeated back)."""
    return f"未能读懂您的选票，选票未记录。请按「{command(sol, '1A')}」的格式重新投票。"


def ballot_incomplete(sol: Solicitation, questions: tuple[Question, ...]) -> str:
    """A ballot must answer every question at once."""
    example = " ".join(f"{n}A" for n in range(1, len(questions) + 1))
    return f"投票需一次选完全部 {len(questions)} 题，例如「{command(sol, example)}」。选票未记录。"


def already_voted(sol: Solicitation) -> str:
    """A second ballot from the same deputy."""
    return f"您已在【{sol.title}】中投过票，每人只能投一次，本次未记录。"


def secret_ballot_cast(sol: Solicitation) -> str:
    """A secret ballot was recorded; its content is not repeated back."""
    return (
        f"您的选票已投入【{sol.title}】。本次为无记名投票，选票与您的姓名分开保存，"
        "结果在截止后公布。"
    )


def open_ballot_cast(
    sol: Solicitation, questions: tuple[Question, ...], choices: Mapping[str, object]
) -> str:
    """An open ballot was recorded."""
    return f"您的选票已投入【{sol.title}】，结果在截止后公布。\n{_answer_lines(questions, choices)}"


def deputies_only() -> str:
    """Staff tried to answer."""
    return "意见征集和投票由代表本人回复。"
