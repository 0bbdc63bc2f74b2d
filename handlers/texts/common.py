"""Labels, titles and time formats shared by every audience's texts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

NEW_CASE_KEYWORD = "新问题"

# ---------------------------------------------------------------- labels


STATUS_LABELS: Mapping[str, str] = {
    "new": "待分派",
    "assigned": "待接单",
    "accepted": "办理中",
    "need_info": "待补充",
    "transferred": "已转办",
    "replied": "已答复",
    "reopened": "重新办理",
    "closed": "已办结",
    "rejected": "不予受理",
    "merged": "已合并",
    "expired": "已关闭（未评价）",
}

# Keys match storage's Rating.value; order is the order of the menu.
RATING_LABELS: Mapping[str, str] = {
    "satisfied": "满意",
    "basic": "基本满意",
    "unsatisfied": "不满意",
}
UNRATED_LABEL = "未评价"

# Actions a person can attempt on a case (command verbs and state-machine actions alike).
ACTION_LABELS: Mapping[str, str] = {
    "route": "分派",
    "claim": "接单",
    "reply": "回复",
    "ask_info": "要求补充",
    "info_provided": "补充情况",
    "transfer": "转办",
    "dept_answer": "部门答复",
    "rate": "评价",
    "rate_ok": "评价",
    "rate_bad": "评价",
    "expire": "关闭",
    "reject": "不予受理",
    "merge": "合并",
    "reassign": "改派",
    "close": "办结",
    "show": "查看",
    "notify": "发通知",
}

# What an SLA step is about (matches SlaPolicy: claim_days / answer_days / close_days).
SLA_LABELS: Mapping[str, str] = {
    "claim": "接单",
    "answer": "答复",
    "close": "办结",
}

CARD_FIELD_LABELS: Mapping[str, str] = {
    "number": "编号",
    "constituent": "反映人",
    "status": "状态",
    "station": "联络站",
    "handler": "承办人",
    "department": "承办部门",
    "category": "类别",
    "summary": "问题描述",
    "location": "位置",
    "attachments": "附件",
    "opened_at": "反映时间",
    "due": "办理时限",
    "answer": "答复内容",
    "delivery": "送达情况",
    "rating": "群众评价",
}

CARD_BUTTON_LABELS: Mapping[str, str] = {
    "claim": "接单",
    "reply": "回复",
    "transfer": "转办",
    "ask_info": "需补充",
    "reject": "不予受理",
}

_COMPOUND_SURNAMES = frozenset(
    {
        *("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙"),
        *("令狐", "宇文", "夏侯", "司徒", "轩辕", "端木", "南宫", "西门", "独孤", "呼延"),
        *("万俟", "申屠", "澹台", "公冶", "太史", "闻人", "赫连", "钟离"),
    }
)


def status_label(status: str) -> str:
    """Chinese label of a lifecycle status (the raw value if unknown)."""
    return STATUS_LABELS.get(status, status)


def rating_label(value: str) -> str:
    """Chinese label of a rating value, including 未评价."""
    return RATING_LABELS.get(value, UNRATED_LABEL if value == "unrated" else value)


def action_label(action: str) -> str:
    """Chinese label of an action (the raw value if unknown)."""
    return ACTION_LABELS.get(action, action)


def deputy_title(full_name: str) -> str:
    """How a deputy is addressed to the public: 张伟 → 张代表, 欧阳娜娜 → 欧阳代表."""
    name = full_name.strip()
    if not name:
        return "代表"
    if name.endswith("代表"):
        return name
    is_han = all("\u4e00" <= ch <= "\u9fff" for ch in name)
    if not is_han or len(name) < 2:
        # Non-Han or one-character names: a surname cannot be split off safely.
        return f"{name}代表"
    surname = name[:2] if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else name[0]
    return f"{surname}代表"


def staff_title(name: str) -> str:
    """How a staff member is named to deputies and staff: 工作人员王芳."""
    name = name.strip()
    return f"工作人员{name}" if name else "工作人员"


def staff_public_title() -> str:
    """How staff are named to constituents (their names stay internal)."""
    return "联络站工作人员"


def _local(t: datetime) -> datetime:
    """`t` in Beijing time; a naive `t` is taken as UTC (the storage convention)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(BEIJING)


def fmt_hm(t: datetime) -> str:
    """Beijing wall-clock time as 10:42."""
    return _local(t).strftime("%H:%M")


def fmt_when(t: datetime) -> str:
    """Beijing date and time as 10月8日 16:00."""
    local = _local(t)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def _num(number: int) -> str:
    return f"#{number}"


def _handler_part(station: str, handler: str | None) -> str:
    return f"{station} {handler}" if handler else station
