"""Chinese labels for the case log as the workbench shows it (kinds, actors, channels)."""

from __future__ import annotations

from collections.abc import Mapping

from handlers import texts

EVENT_KINDS: Mapping[str, str] = {
    "opened": "收到诉求",
    "transition": "状态变更",
    "routed": "分派",
    "escalated": "超时提醒",
    "note": "备注",
    "follow_up": "群众补充",
    "delivery_failed": "消息未送达",
    "delivery": "送达情况",
    "rating_reason": "不满意原因",
}
ACTORS: Mapping[str, str] = {
    "constituent": "群众",
    "deputy": "代表",
    "staff": "工作人员",
    "dept": "部门",
    "system": "系统",
}
CHANNELS: Mapping[str, str] = {
    "wecom": "微信",
    "dingtalk": "钉钉",
    "workbench": "工作台",
    "cli": "命令行",
    "system": "系统",
}


def event_line(kind: str, action: str | None, actor_kind: str, channel: str) -> str:
    """「状态变更 · 改派 · 工作人员 · 工作台」 for one case-log row."""
    parts = [EVENT_KINDS.get(kind, kind)]
    if action:
        parts.append(texts.ACTION_LABELS.get(action, action))
    parts += [ACTORS.get(actor_kind, actor_kind), CHANNELS.get(channel, channel)]
    return " · ".join(parts)
