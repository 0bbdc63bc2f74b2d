"""Chinese wording of the 民情大脑 lines on cards and in replies."""

from __future__ import annotations

PLACE_HOW = {
    "text": "文字所述",
    "location": "位置推断",
    "plate": "门牌码",
    "station": "联络站",
}
CATEGORY_SOURCE = {"model": "自动", "lexicon": "自动", "corrected": "已人工更正"}
PLACE_LABEL = "地点"
CATEGORY_LABEL = "分类"
SIMILAR_LABEL = "关联"
CATEGORY_VERB = "分类"
CATEGORY_BUTTON = "更正分类"
CURRENT_MARK = "（当前）"


def place_line(name: str, how: str) -> str:
    """「阳光花园（文字所述）」"""
    return f"{name}（{PLACE_HOW.get(how, how)}）"


def category_line(category: str, confidence: float | None, source: str | None) -> str:
    """「停车（自动，置信度 0.82）」 or 「停车（已人工更正）」"""
    if source == "corrected" or confidence is None:
        return f"{category}（{CATEGORY_SOURCE.get(source or '', '')}）".replace("（）", "")
    return f"{category}（自动，置信度 {confidence:.2f}）"


def similar_line(number: int, place: str, days: float, reporters: int) -> str:
    """「疑似与 #12 同一问题（同一地点，3 天内，2 人反映）」"""
    where = {"place": "同一地点", "near": "相距百米内", "adjacent": "同一路段旁"}.get(
        place, "地点未明"
    )
    within = max(1, int(days) + (0 if days == int(days) else 1))
    return f"疑似与 #{number} 同一问题（{where}，{within} 天内，{reporters} 人反映）"


def recurrence_line(number: int, days: float) -> str:
    """「复发：#7（首次反映于 62 天前）」"""
    return f"复发：#{number}（首次反映于 {int(days)} 天前）"


def category_changed(number: int, old: str | None, new: str) -> str:
    """The reply to `#12 分类 停车`."""
    before = f"由「{old}」" if old else ""
    return f"#{number} 的分类已{before}改为「{new}」，已记入办理记录。"


def category_unknown(given: str, known: list[str]) -> str:
    """The reply when `#12 分类 X` names no category of this deployment."""
    return f"没有「{given}」这个分类。可选：{'、'.join(known)}。"


def category_missing(known: list[str]) -> str:
    """The reply to `#12 分类` without a category."""
    return f"请写明分类，例如「#12 分类 停车」。可选：{'、'.join(known)}。"


def category_choose(number: int, current: str | None) -> str:
    """Above the category links (DingTalk): tap one to correct the case."""
    now = f"（现为「{current}」）" if current else ""
    return f"请选择 #{number} 的正确分类{now}，点击即可更正："


def category_choice_label(name: str, current: str | None) -> str:
    """A category link's label; the current one is marked."""
    return f"{name}{CURRENT_MARK}" if name == current else name


def category_not_found(given: str) -> str:
    """The first line when `#12 分类 X` names no category (the links follow)."""
    return f"没有「{given}」这个分类。"
