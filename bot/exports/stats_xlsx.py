"""Write a statistics report to xlsx: the figures, the groups, and a 说明 sheet of formulas."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from handlers.stats import DEFINITIONS, FIGURE_KEYS, GROUPINGS, StatsReport
from handlers.stats.figures import Figure

BOLD = Font(bold=True)


def _cell(figure: Figure) -> float | int | None:
    """Rates as fractions (formatted as %), counts and hours as they are."""
    return figure.value


def _header(ws: Worksheet, values: list[str]) -> None:
    ws.append(values)
    for cell in ws[ws.max_row]:
        cell.font = BOLD


def _figure_columns() -> list[str]:
    columns: list[str] = []
    for key in FIGURE_KEYS:
        d = DEFINITIONS[key]
        columns.append(
            d.label + ("（%）" if d.unit == "%" else "（小时）" if d.unit == "h" else "")
        )
        if d.unit == "%":
            columns += [f"{d.label}分子", f"{d.label}分母"]
    return columns


def _figure_values(figures: dict[str, Figure]) -> list[float | int | None]:
    values: list[float | int | None] = []
    for key in FIGURE_KEYS:
        f = figures[key]
        if DEFINITIONS[key].unit == "%":
            values += [round(f.value * 100, 2) if f.value is not None else None]
            values += [f.numerator, f.denominator]
        else:
            values.append(_cell(f))
    return values


def write_stats_xlsx(report: StatsReport, path: Path) -> Path:
    """Write `report` to `path` (汇总, 分组 when grouped, 说明) and return the path."""
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = "汇总"
    _header(summary, ["地区", "统计期", *_figure_columns()])
    summary.append([report.region_name, report.window.describe(), *_figure_values(report.totals)])
    if report.by is not None:
        groups = wb.create_sheet(f"按{GROUPINGS[report.by]}")
        _header(groups, [GROUPINGS[report.by], "小样本", *_figure_columns()])
        for g in report.groups:
            groups.append([g.label, "是" if g.small_sample else "", *_figure_values(g.figures)])
    notes = wb.create_sheet("说明")
    _header(notes, ["指标", "口径（公式）"])
    notes.append(["统计期", report.window.describe()])
    notes.append(["地区", f"{report.region_name}（含下级地区）"])
    for key in FIGURE_KEYS:
        notes.append([DEFINITIONS[key].label, DEFINITIONS[key].formula])
    for line in report.notes():
        notes.append(["说明", line])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
