"""Write a 热点专报 to xlsx: one sheet per table, and a 口径 sheet with the window and formulas."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from handlers.insight.brief import HISTORY_WEEKS, Brief, Row
from handlers.insight.brief_text import FORMULAS, brief_title


def _rows_sheet(book: Workbook, title: str, column: str, rows: tuple[Row, ...]) -> None:
    sheet = book.create_sheet(title)
    previous = [f"前第{HISTORY_WEEKS - i}周件数" for i in range(HISTORY_WEEKS)]
    sheet.append([column, "件数", "反映人数", *previous, f"前{HISTORY_WEEKS}周均值", "变化"])
    for row in rows:
        sheet.append(
            [row.key, row.cases, row.reporters, *row.previous, row.previous_mean, row.change]
        )
    for cell in sheet[1]:
        cell.font = Font(bold=True)


def write_brief_xlsx(brief: Brief, path: Path) -> Path:
    """Save `brief` to `path` and return it."""
    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "概况"
    summary.append([brief_title(brief)])
    summary.append(["地区", brief.region_name, brief.region_code])
    summary.append(["周", brief.week.label])
    summary.append(["件数", brief.cases])
    summary.append(["反映人数（含附议）", brief.reporters])
    summary.append(["附议", brief.cosigned])
    _rows_sheet(book, "按分类", "分类", brief.by_category)
    _rows_sheet(book, "按地点", "社区·地点", brief.by_place)
    rec = book.create_sheet("复发")
    rec.append(["诉求", "复发自", "分类", "地点"])
    for r in brief.recurrences:
        rec.append([f"#{r.case_id}", f"#{r.of_case_id}", r.category, r.place])
    top = book.create_sheet("未办结热点")
    top.append(["主诉求", "分类", "地点", "反映人数", "件数", "摘录（已脱敏）"])
    for g in brief.top_open:
        top.append([f"#{g.case_id}", g.category, g.place, g.reporters, g.reports, g.quote])
    notes = book.create_sheet("口径")
    for formula in FORMULAS:
        notes.append([formula])
    book.save(path)
    return path
