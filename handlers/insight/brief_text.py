"""The 热点专报 as text (DingTalk markdown and the CLI), with its window and formulas."""

from __future__ import annotations

from datetime import timedelta

from handlers.insight.brief import BEIJING, HISTORY_WEEKS, Brief, Row

FORMULAS: tuple[str, ...] = (
    "件数 = 本周（北京时间周一 0 时至下周一 0 时）新收到的诉求，合并为附议的不另计件",
    "反映人数 = 本周新收到的诉求（含附议）的不同反映人，附议计入其主诉求的分类和地点",
    f"前{HISTORY_WEEKS}周均值 = 此前 {HISTORY_WEEKS} 周每周件数之和 ÷ {HISTORY_WEEKS}；"
    "变化 = 本周件数 − 前4周均值；变化率 = 变化 ÷ 前4周均值（均值为 0 时不列）",
    "复发 = 本周新收到、受理时认定为同一地点同一问题再次出现的诉求",
    "未办结热点 = 截至本周末尚未办结的主诉求，按反映人数（含附议）、再按件数排序，取前 3",
    "分类、地点、附议均取自受理时存储的结果（含人工更正），统计时不重新聚类",
)


def _window(brief: Brief) -> str:
    start = brief.week.start().astimezone(BEIJING).date()
    last = start + timedelta(days=6)
    return f"{start:%Y年%m月%d日}—{last:%m月%d日}"


def _change(row: Row) -> str:
    mean = row.previous_mean
    delta = row.change
    sign = "+" if delta > 0 else ""
    pct = f"，{sign}{delta / mean:.0%}" if mean else ""
    return f"{sign}{delta:.2f}{pct}".replace(".00", "")


def _table(title: str, column: str, rows: tuple[Row, ...]) -> list[str]:
    lines = [f"#### {title}", f"| {column} | 件数 | 反映人数 | 前{HISTORY_WEEKS}周均值 | 变化 |"]
    lines.append("|---|---|---|---|---|")
    for row in rows:
        mean = f"{row.previous_mean:.2f}".replace(".00", "")
        lines.append(f"| {row.key} | {row.cases} | {row.reporters} | {mean} | {_change(row)} |")
    if not rows:
        lines.append("| （本周无） | 0 | 0 | — | — |")
    return lines


def brief_title(brief: Brief) -> str:
    """「青溪县热点专报 2026-W48」."""
    return f"{brief.region_name}热点专报 {brief.week.label}"


def brief_markdown(brief: Brief) -> str:
    """The whole brief: totals, tables, recurrences, open groups, window and formulas."""
    lines = [
        f"### {brief_title(brief)}",
        f"统计期：{_window(brief)}（北京时间），范围：{brief.region_name}及下辖地区",
        f"本周收到诉求 **{brief.cases}** 件，反映人数 **{brief.reporters}** 人"
        f"（其中附议 {brief.cosigned} 件）。",
        "",
        *_table("按分类", "分类", brief.by_category),
        "",
        *_table("按社区/地点", "社区·地点", brief.by_place),
        "",
        "#### 复发",
    ]
    lines += [
        f"- #{r.case_id} 复发 #{r.of_case_id}（{r.category}，{r.place}）" for r in brief.recurrences
    ] or ["- 本周无"]
    lines += ["", "#### 未办结热点（前 3）"]
    lines += [
        f"{n}. #{g.case_id} {g.category}·{g.place}：{g.reporters} 人反映"
        + (f"（含附议 {g.reports - 1} 件）" if g.reports > 1 else "")
        + f"  \n   「{g.quote}」"
        for n, g in enumerate(brief.top_open, 1)
    ] or ["- 无"]
    lines += ["", "#### 口径", *(f"- {f}" for f in FORMULAS)]
    return "\n".join(lines)
