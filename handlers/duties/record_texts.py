"""Chinese wording of the 履职档案 and of `登记` (offline activities)."""

from __future__ import annotations

from datetime import date

from handlers.texts import BEIJING, RATING_LABELS
from storage.models import DutyActivity

__all__ = ["BEIJING"]

# Archive order: how activities are listed and summed.
ACTIVITY_LABELS: dict[str, str] = {
    "case_received": "收到诉求",
    "case_claimed": "接单",
    "case_answered": "答复诉求",
    "case_answered_on_time": "按时答复",
    "rating_satisfied": "群众满意",
    "rating_basic": "群众基本满意",
    "rating_unsatisfied": "群众不满意",
    "survey_answered": "参与意见征集",
    "vote_cast": "参加投票",
    "meeting_attended": "出席会议",
    "meeting_excused": "会议请假",
    "document_read": "阅文",
    "activity_registered": "登记履职活动",
    "activity_confirmed": "活动经联络站确认",
}

FORMAT = "登记 活动类型 日期 地点 内容，例如：登记 走访 12月3日 东湖村 走访选民10户（可附照片）"


def fmt_day(d: date) -> str:
    """12月3日."""
    return f"{d.month}月{d.day}日"


def case_detail(case_id: int) -> str:
    """A case in the archive."""
    return f"#{case_id}"


def rating_detail(case_id: int, value: str) -> str:
    """A rating in the archive."""
    return f"#{case_id} {RATING_LABELS.get(value, value)}"


def solicit_detail(solicitation_id: int, title: str) -> str:
    """A questionnaire or vote in the archive."""
    return f"{title}（编号 {solicitation_id}）"


def meeting_detail(meeting_id: int, title: str, reason: str | None = None) -> str:
    """A meeting in the archive (with the reason of a 请假)."""
    return f"{title}（会议 {meeting_id}）" + (f"：{reason}" if reason else "")


def document_detail(title: str) -> str:
    """A document read."""
    return f"《{title}》"


def activity_detail(a: DutyActivity) -> str:
    """An offline activity in the archive."""
    parts = [a.kind, a.place, a.text]
    if a.photo:
        parts.append("（附照片）")
    return " ".join(p for p in parts if p)


def register_deputies_only() -> str:
    """Staff tried to register."""
    return "履职活动由代表本人登记；工作人员可用「确认登记 编号」确认代表的登记。"


def register_format() -> str:
    """A registration that cannot be read."""
    return f"请按格式登记：{FORMAT}"


def register_bad_date(text: str) -> str:
    """An unreadable date."""
    return f"没能看懂日期「{text[:12]}」，请写成「12月3日」或「2026-12-03」。{FORMAT}"


def register_future(day: date) -> str:
    """A date after today."""
    return f"{fmt_day(day)}还没到，请登记已经开展的活动。"


def registered(a: DutyActivity) -> str:
    """A registration was recorded."""
    photo = "，已附照片" if a.photo else ""
    return (
        f"已登记（编号 {a.id}）：{fmt_day(a.occurred_on)} {a.kind} {a.place} {a.text}{photo}。"
        "已记入您的履职档案，联络站确认后另计积分。"
    ).replace("  ", " ")


def register_help(latest: list[DutyActivity]) -> str:
    """`登记` alone: the format and the latest registrations."""
    lines = [f"请按格式登记：{FORMAT}"]
    if latest:
        lines.append("您最近的登记：")
        lines.extend(
            f"{a.id}. {fmt_day(a.occurred_on)} {a.kind} {a.place}"
            f"{'（已确认）' if a.status == 'confirmed' else ''}"
            for a in latest
        )
    return "\n".join(lines)


def activity_not_found(activity_id: int) -> str:
    """No such registration."""
    return f"没有找到编号为 {activity_id} 的履职登记。"


def confirm_not_allowed(activity_id: int) -> str:
    """Only the deputy's station staff confirm."""
    return f"登记 {activity_id} 需由该代表所在联络站的工作人员确认。"


def already_confirmed(activity_id: int) -> str:
    """A repeated confirmation."""
    return f"登记 {activity_id} 已经确认过了。"


def confirmed(a: DutyActivity) -> str:
    """A registration was confirmed."""
    return f"已确认登记 {a.id}：{fmt_day(a.occurred_on)} {a.kind} {a.place}。"
