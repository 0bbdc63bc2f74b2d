"""Write solicitation results and 履职档案 to xlsx (the same rows the command prints)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from handlers.duties.record import Archive
from handlers.duties.results import Results
from handlers.duties.scores import ScoreRow
from handlers.privacy import mask_text

BOLD = Font(bold=True)


def _header(ws: Worksheet, values: list[str]) -> None:
    ws.append(values)
    for cell in ws[ws.max_row]:
        cell.font = BOLD


def write_results_xlsx(res: Results, path: Path) -> None:
    """Sheets 选项统计, 文字意见, 回复率 and (not for secret votes) 明细."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "选项统计"
    _header(ws, ["题号", "题目", "选项", "内容", "人数"])
    for n, q in enumerate(res.questions, 1):
        if not q.is_choice:
            continue
        counts = res.counts.get(n, {}) if res.counts is not None else {}
        for i, option in enumerate(q.options):
            letter = chr(65 + i)
            value = counts.get(letter) if res.counts is not None else "截止后公布"
            ws.append([n, q.text, letter, option, value])
    texts = wb.create_sheet("文字意见")
    _header(texts, ["题号", "代表编码", "代表", "联络站", "意见"])
    for t in res.text_answers:
        # deputies' opinions may quote constituents: masked like every export
        texts.append([t.question, t.deputy_code, t.deputy_name, t.station, mask_text(t.text)])
    rates = wb.create_sheet("回复率")
    _header(rates, ["层级", "编码", "名称", "应答人数", "已答人数", "回复率（%）"])
    level = {"total": "合计", "region": "地区", "station": "联络站"}
    for r in res.rates:
        rates.append([level[r.level], r.code, r.name, r.asked, r.answered, round(r.rate * 100, 2)])
    if not res.solicitation.secret:
        detail = wb.create_sheet("明细")
        _header(
            detail,
            ["代表编码", "代表", "联络站", *(f"第{n}题" for n in range(1, len(res.questions) + 1))],
        )
        for code, name, station, answers in res.details:
            values = [_cell(answers.get(str(n))) for n in range(1, len(res.questions) + 1)]
            detail.append([code, name, station, *values])
    wb.save(path)


def _cell(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return "" if value is None else str(value)


def write_archive_xlsx(archive: Archive, path: Path, masked: bool = False) -> None:
    """Sheets 履职档案 (every activity) and 积分汇总; `masked` masks the activity texts."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "履职档案"
    _header(ws, ["日期", "活动", "内容", "积分"])
    for e in archive.entries:
        # a registered activity's words may name constituents: masked outside the CLI
        ws.append(
            [e.day.isoformat(), e.label, mask_text(e.detail) if masked else e.detail, e.points]
        )
    summary = wb.create_sheet("积分汇总")
    _header(summary, ["活动", "次数", "积分"])
    for label, count, points in archive.summary():
        summary.append([label, count, points])
    summary.append(["合计", len(archive.entries), archive.total])
    wb.save(path)


def write_scores_xlsx(rows: list[ScoreRow], path: Path) -> None:
    """One sheet of 履职积分 by region and station."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "履职积分"
    _header(ws, ["层级", "编码", "名称", "代表人数", "积分合计", "人均积分"])
    for r in rows:
        level = "地区" if r.level == "region" else "联络站"
        ws.append([level, r.code, r.name, r.deputies, r.total, round(r.average, 2)])
    wb.save(path)
