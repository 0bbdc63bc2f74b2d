"""What staff and the office read: escalation alerts and notices to deputies."""

from __future__ import annotations

from datetime import datetime

from handlers.texts.common import SLA_LABELS, _num, fmt_when
from handlers.texts.operator import congress_body

# ---------------------------------------------------------------- escalation


def escalation_remind_assignee(number: int, what: str, due: datetime) -> str:
    """Step 1: reminder on the card / to the handler."""
    return (
        f"温馨提醒：{_num(number)} 已超过{SLA_LABELS.get(what, what)}时限"
        f"（{fmt_when(due)}），请尽快处理，谢谢。"
    )


def escalation_station_staff(
    number: int, station: str, handler: str | None, what: str, due: datetime
) -> str:
    """Step 2: @ station staff in the group."""
    who = handler or "待分派"
    return (
        f"请工作人员协助跟进：{_num(number)}（{station}，{who}）"
        f"已超过{SLA_LABELS.get(what, what)}时限（{fmt_when(due)}）。"
    )


def escalation_office(
    number: int, station: str, handler: str | None, what: str, due: datetime
) -> str:
    """Step 3: alert to the office (DingTalk 1:1 or staff group)."""
    who = handler or "未分派"
    return (
        f"【超时预警】{_num(number)} {station}，承办：{who}，"
        f"{SLA_LABELS.get(what, what)}时限 {fmt_when(due)} 已过，请督办。"
    )


# ---------------------------------------------------------------- the working calendar


def calendar_missing_notice(years: list[int]) -> str:
    """To each office staff group, once: a year's holidays are not entered, deadlines 暂定."""
    which = "、".join(f"{y}年" for y in years)
    return (
        f"【工作日历提醒】{which}法定节假日和调休安排尚未录入，涉及的办理时限暂按周一至周五"
        "计算并标注（暂定）。请在国务院办公厅公布安排后及时录入，谢谢。"
    )


# ---------------------------------------------------------------- notices to deputies


CONFIRM_WORDS = ("确认", "已阅")


def notice_to_deputies(sender: str, text: str) -> str:
    """A notice pushed to deputies, ending with how to confirm it."""
    return f"【通知】{text}\n——{sender}\n{notice_confirm_prompt()}"


def notice_confirm_prompt() -> str:
    """The line asking deputies to confirm a notice."""
    return "收到后请回复「确认」或「已阅」，谢谢。"


def notice_sent(target: str, count: int) -> str:
    """To staff: the notice went out."""
    return f"通知已发送给 {target} 的 {count} 位代表，代表回复「确认」后会记入通知记录。"


def notice_target_not_found(target: str) -> str:
    """To staff: unknown region or station."""
    return f"未找到区域或联络站「{target}」，请核对名称后重试。"


def notice_not_allowed(target: str) -> str:
    """To staff: the region or station is outside their own."""
    return f"抱歉，「{target}」不在您负责的范围内，无法发送通知。"


def office_sender(region: str, level: str) -> str:
    """Signature of a notice sent by a region's office: 主席团 (township) or 常委会."""
    return congress_body(level, region)


def notice_confirmed() -> str:
    """To a deputy who confirmed the latest notice."""
    return "已确认收到通知，谢谢！"


def no_notice_to_confirm() -> str:
    """A deputy confirmed, but there is no notice waiting for confirmation."""
    return "您目前没有需要确认的通知，谢谢。"
