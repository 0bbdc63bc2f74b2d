"""Chinese wording of meetings (报名 / 请假 / 签到) and 阅文 (read receipts)."""

from __future__ import annotations

from handlers.duties.texts import dtmd
from handlers.texts import fmt_when
from storage.models import Document, Meeting


def _docs(docs: list[Document]) -> list[str]:
    return [
        f"- {d.title}：{dtmd('打开', f'#阅文{d.id}')} ｜ {dtmd('已阅', f'#阅文{d.id} 已阅')}"
        for d in docs
    ]


def meeting_card(m: Meeting, docs: list[Document]) -> tuple[str, str]:
    """Title and markdown of a meeting notice with its 报名 / 请假 links."""
    lines = [
        f"### 【会议通知】{m.title}",
        f"**时间**：{fmt_when(m.starts_at)}–{fmt_when(m.ends_at)[-5:]}",
        f"**地点**：{m.place}",
    ]
    if m.agenda:
        lines.append(f"**议程**：\n{m.agenda}")
    if docs:
        lines.append("**会议材料**：")
        lines.extend(_docs(docs))
    lines.append(
        f"{dtmd('报名参加', f'#会议{m.id} 报名')} ｜ 请假请回复：#会议{m.id} 请假 请假理由"
    )
    lines.append("会议当天请在会场扫描签到二维码签到。")
    return f"会议通知：{m.title}", "\n\n".join(lines)


def meeting_reminder(m: Meeting) -> str:
    """The day-before reminder."""
    return (
        f"提醒：明天 {fmt_when(m.starts_at)} 在{m.place}召开【{m.title}】，"
        "请准时参加并在会场扫码签到。"
    )


def registered(m: Meeting) -> str:
    """报名 recorded."""
    return f"已为您报名【{m.title}】，{fmt_when(m.starts_at)}，{m.place}。"


def excused(m: Meeting, reason: str) -> str:
    """请假 recorded."""
    return f"已收到您对【{m.title}】的请假（理由：{reason}），将转告会务人员。"


def excuse_needs_reason(m: Meeting) -> str:
    """请假 without a reason."""
    return f"请写明请假理由，例如「#会议{m.id} 请假 外出调研」。"


def meeting_started(m: Meeting) -> str:
    """报名 / 请假 after the meeting began."""
    return f"【{m.title}】已经开始或结束，报名和请假已截止。如需说明请联系会务人员。"


def checked_in(m: Meeting, when: str) -> str:
    """签到 accepted."""
    return f"签到成功：【{m.title}】{when}。"


def already_checked_in(m: Meeting) -> str:
    """A second 签到."""
    return f"您已签到【{m.title}】，无需重复签到。"


def checkin_outside_window(m: Meeting, opens: str) -> str:
    """签到 before the window or after the meeting."""
    return f"【{m.title}】签到时间为 {opens} 至 {fmt_when(m.ends_at)}，现在不能签到。"


def checkin_needs_qr(m: Meeting) -> str:
    """A 签到 without the venue's code."""
    return f"【{m.title}】请在会场扫描签到二维码签到。"


def meeting_unknown_reply(m: Meeting) -> str:
    """An unknown meeting verb."""
    return f"请回复「#会议{m.id} 报名」或「#会议{m.id} 请假 理由」。"


def meeting_not_found(number: int) -> str:
    """No such meeting."""
    return f"没有找到编号为 {number} 的会议，请核对编号。"


def not_invited(m: Meeting) -> str:
    """The sender is not on the list."""
    return f"您不在【{m.title}】的参会名单中，如有疑问请联系会务人员。"


def document_card(d: Document) -> tuple[str, str]:
    """Title and markdown of a document sent alone for 阅文."""
    lines = [f"### 【阅文】{d.title}"]
    if d.summary:
        lines.append(d.summary)
    lines.extend(_docs([d]))
    lines.append("阅读后请点「已阅」确认。")
    return f"阅文：{d.title}", "\n\n".join(lines)


def document_opened(d: Document) -> str:
    """The deputy opened a document: its link and summary, and how to confirm."""
    link = f"[{d.title}]({d.url})" if d.url else d.title
    body = f"\n{d.summary}" if d.summary else ""
    return f"【阅文】{link}{body}\n阅读后请回复「#阅文{d.id} 已阅」。"


def document_confirmed(d: Document) -> str:
    """已阅 recorded."""
    return f"已确认阅读《{d.title}》，谢谢！"


def document_reminder(d: Document) -> str:
    """Reminder to those who have not confirmed."""
    return f"**温馨提醒：《{d.title}》您尚未确认阅读。**"


def document_not_found(number: int) -> str:
    """No such document, or not sent to this deputy."""
    return f"没有找到发给您的编号为 {number} 的文件。"
