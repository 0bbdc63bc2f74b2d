"""What the office's operator reads in a terminal (`lianxin cases …`, posters) and who signs.

Times are shown in the service's time zone with their date; statuses, actions and event kinds
by their Chinese labels; people and places by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from handlers.texts.common import STATUS_LABELS

# ---------------------------------------------------------------- who signs

_COUNTY_LEVELS = ("county", "city")


def congress_body(level: str, region: str = "", *, office: bool = False) -> str:
    """The body that speaks for a region's people's congress: 主席团 in a township, else 常委会.

    A township (乡镇/街道) congress has a 主席团 and no standing committee; a county or city
    congress acts between sessions through its 常委会, whose 代表工委 (`office=True`) is the
    office that works with deputies. A township's 主席团 is its own office.
    """
    if level not in _COUNTY_LEVELS:
        return f"{region}人大主席团"
    return f"{region}人大常委会代表工委" if office else f"{region}人大常委会"


def office_group_title(level: str, region: str) -> str:
    """Title of the DingTalk group of a region's office staff."""
    return f"{congress_body(level, region, office=True)}工作群"


# ---------------------------------------------------------------- operator CLI

EVENT_KIND_LABELS: Mapping[str, str] = {
    "transition": "状态变更",
    "opened": "群众反映",
    "follow_up": "群众追加",
    "routed": "分派",
    "escalated": "超时督办",
    "rating_reason": "评价理由",
    "delivery_failed": "送达失败",
    "note": "备注",
}

ACTOR_KIND_LABELS: Mapping[str, str] = {
    "constituent": "群众",
    "deputy": "代表",
    "staff": "工作人员",
    "dept": "部门",
    "system": "系统",
}

CHANNEL_LABELS: Mapping[str, str] = {
    "wecom": "微信",
    "wecom_kf": "微信客服",
    "wecom_app": "企业微信",
    "dingtalk": "钉钉",
    "cli": "命令行",
    "system": "系统",
}

CASE_COLUMNS = ("编号", "状态", "反映时间", "联络站", "承办", "问题描述")


def local_time(t: datetime | None, tz: tzinfo) -> str:
    """`t` (naive = UTC, the storage convention) as 2026-12-01 15:33 in `tz`; 无 when missing."""
    if t is None:
        return "无"
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def event_kind_label(kind: str) -> str:
    """Chinese label of a case event kind (the raw value if unknown)."""
    return EVENT_KIND_LABELS.get(kind, kind)


def actor_label(kind: str, name: str | None) -> str:
    """Who did it: 张明（代表）, or only the kind when no name was recorded."""
    what = ACTOR_KIND_LABELS.get(kind, kind)
    return f"{name}（{what}）" if name and name != what else what


def channel_label(channel: str) -> str:
    """Chinese label of a channel."""
    return CHANNEL_LABELS.get(channel, channel)


def no_cases(status: str | None) -> str:
    """`cases list` found nothing."""
    return (
        f"没有状态为「{STATUS_LABELS.get(status, status)}」的诉求。" if status else "还没有诉求。"
    )


def case_not_found_cli(number: int) -> str:
    """`cases show` with an unknown number."""
    return f"没有编号为 #{number} 的诉求。"


def bad_case_number(value: str) -> str:
    """`cases show` with something that is not a case number."""
    return f"「{value}」不是诉求编号：请填写数字，例如 123 或 #123。"


def bad_status(value: str) -> str:
    """`--status` with an unknown value; lists what is allowed."""
    allowed = "、".join(f"{label}（{code}）" for code, label in STATUS_LABELS.items())
    return f"没有「{value}」这个状态。可选：{allowed}。"
