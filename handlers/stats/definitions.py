"""What every published figure means: its Chinese label and formula, stated once.

Pages, exports, briefs and `lianxin stats` read these, so a figure and its explanation can never
drift apart. The rules come from the product's insight definitions (docs/statistics.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    """One figure: how it is called and how it is computed."""

    key: str
    label: str
    formula: str
    unit: str = ""  # "" for counts, "%" for rates, "h" for working hours


_ALL = (
    Definition(
        "collected",
        "收集",
        "统计期内新收到的诉求件数（作为附议合并到其他件的不重复计算，另列附议人数）",
    ),
    Definition("co_signers", "附议", "统计期内新收到、已合并到其他诉求作为附议的件数"),
    Definition("answered", "已答复", "统计期内收集的诉求中，截至统计期末已首次答复的件数"),
    Definition(
        "timely_answer_rate",
        "及时答复率",
        "在答复时限内首次答复的件数 ÷ 答复时限落在统计期内或在统计期内答复的件数"
        "（无答复时限的件，如12345工单，不计入）",
        "%",
    ),
    Definition(
        "satisfaction_rate",
        "满意率",
        "（满意 + 基本满意）÷ 统计期内已评价的答复数；未评价不算满意，另列",
        "%",
    ),
    Definition("unrated", "未评价", "统计期内评价期满仍未评价、按未评价关闭的答复数"),
    Definition(
        "closed_rate",
        "办结率",
        "统计期内收集的诉求中，截至统计期末已办结（含评价期满未评价关闭）的件数 ÷ 收集件数",
        "%",
    ),
    Definition("rejected", "不予受理", "统计期内收集的诉求中，截至统计期末不予受理的件数"),
    Definition(
        "reworked", "返工", "统计期内收集的诉求中，因群众不满意而重新办理过（至少一次）的件数"
    ),
    Definition(
        "hours_to_claim_median",
        "接单用时中位数",
        "统计期内收集并已接单的诉求，从收到到接单的工作时长（小时）的中位数",
        "h",
    ),
    Definition(
        "hours_to_claim_p90",
        "接单用时90分位",
        "同上，第90百分位（最近秩法）",
        "h",
    ),
    Definition(
        "hours_to_answer_median",
        "首次答复用时中位数",
        "统计期内收集并已答复的诉求，从收到到首次答复的工作时长（小时）的中位数",
        "h",
    ),
    Definition("hours_to_answer_p90", "首次答复用时90分位", "同上，第90百分位（最近秩法）", "h"),
    Definition(
        "hours_to_close_median",
        "办结用时中位数",
        "统计期内收集并已办结的诉求，从收到到办结的工作时长（小时）的中位数",
        "h",
    ),
    Definition("hours_to_close_p90", "办结用时90分位", "同上，第90百分位（最近秩法）", "h"),
)

DEFINITIONS: Mapping[str, Definition] = {d.key: d for d in _ALL}
FIGURE_KEYS: tuple[str, ...] = tuple(d.key for d in _ALL)

# Per-deputy (and any group's) figures on fewer cases than this are flagged as a small sample.
SMALL_SAMPLE = 5
SMALL_SAMPLE_NOTE = f"样本少于{SMALL_SAMPLE}件，比率仅供参考"

WORKING_HOURS_NOTE = "工作时长按法定工作日和办公时间计算（节假日、调休按国家安排）"

GROUPINGS: Mapping[str, str] = {
    "region": "下级地区",
    "station": "联络站",
    "deputy": "代表",
    "category": "类别",
    "source": "来源",
    "week": "周",
}

SOURCE_LABELS: Mapping[str, str] = {"bot": "连心（微信）", "12345": "12345热线"}
NO_GROUP_LABELS: Mapping[str, str] = {
    "region": "未定地区",
    "station": "未定联络站",
    "deputy": "工作人员承办或未分派",
    "category": "未分类",
    "source": "未知来源",
    "week": "—",
}
