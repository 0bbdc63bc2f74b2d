"""The statistics report as plain text for a terminal: every figure with its formula."""

from __future__ import annotations

from handlers.stats import DEFINITIONS, FIGURE_KEYS, GROUPINGS, StatsReport
from handlers.stats.figures import Figure

_HEADLINE = ("collected", "timely_answer_rate", "satisfaction_rate", "closed_rate")


def show(figure: Figure) -> str:
    """One figure as text: 97.56%（40/41）, 12.5 小时（n=8）, or 326."""
    d = DEFINITIONS[figure.key]
    if figure.value is None:
        return "—（无数据）"
    if d.unit == "%":
        return f"{figure.value * 100:.2f}%（{figure.numerator}/{figure.denominator}）"
    if d.unit == "h":
        return f"{figure.value} 小时（n={figure.count}）"
    return str(figure.value)


def render_report(report: StatsReport) -> str:
    """The report: totals with formulas, then one line per group."""
    lines = [f"{report.region_name}  统计期 {report.window.describe()}", ""]
    for key in FIGURE_KEYS:
        d = DEFINITIONS[key]
        lines.append(f"{d.label}：{show(report.totals[key])}")
        lines.append(f"    口径：{d.formula}")
    if report.by is not None:
        lines += ["", f"按{GROUPINGS[report.by]}："]
        for g in report.groups:
            parts = [f"{DEFINITIONS[k].label} {show(g.figures[k])}" for k in _HEADLINE]
            flag = "  ［小样本］" if g.small_sample else ""
            lines.append(f"  {g.label}：" + "；".join(parts) + flag)
    lines += ["", *report.notes()]
    return "\n".join(lines)
