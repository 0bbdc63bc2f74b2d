"""xlsx exports from the workbench: cases (always masked) and statistics, each with a 说明 sheet."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, after_this_request, request, send_file
from openpyxl import Workbook
from werkzeug.wrappers import Response as WerkzeugResponse

from bot.exports.stats_xlsx import write_stats_xlsx
from bot.workbench import forms, pages
from bot.workbench.common import audit, db, login, refuse, runtime
from bot.workcal_config import service_zone, work_calendar
from handlers import texts
from handlers.stats import GROUPINGS, build_report
from handlers.workbench.caselist import all_matching
from handlers.workbench.masked import masked_texts
from storage.models import Case
from storage.timeutil import utcnow

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CASE_COLUMNS = (
    "编号",
    "状态",
    "来源",
    "收到时间",
    "联络站ID",
    "类别",
    "答复时限",
    "首次答复",
    "办结时间",
    "诉求内容（已脱敏）",
)


def _send(path: Path, name: str) -> WerkzeugResponse:
    @after_this_request
    def cleanup(response: WerkzeugResponse) -> WerkzeugResponse:
        path.unlink(missing_ok=True)
        return response

    return send_file(path, mimetype=XLSX, as_attachment=True, download_name=name)


def _tmp() -> Path:
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        return Path(handle.name)


def _case_row(case: Case, tz: object, masked: str) -> list[object]:
    def local(t: object) -> str:
        return t.astimezone(tz).strftime("%Y-%m-%d %H:%M") if t is not None else ""  # type: ignore[attr-defined]

    return [
        case.id,
        texts.STATUS_LABELS.get(case.status, case.status),
        case.source,
        local(case.created_at),
        case.station_id or "",
        case.category or "",
        local(case.answer_due_at),
        local(case.first_answered_at),
        local(case.closed_at),
        masked,
    ]


def register(bp: Blueprint) -> None:
    """Add the export routes."""

    @bp.post("/export/cases.xlsx")
    def export_cases() -> WerkzeugResponse | tuple[str, int]:
        from bot.workbench.sessions import csrf_ok

        if not csrf_ok(login(), request):
            return refuse("case export without CSRF token")
        tz = service_zone(runtime().settings)
        filters = forms.case_filter(request.form, tz)
        limit = runtime().settings.workbench.export_max_rows
        rows = all_matching(db(), login().viewer, filters, utcnow(), limit)
        wb = Workbook(write_only=True)  # streams rows to the file instead of keeping cells
        sheet = wb.create_sheet("诉求")
        sheet.append(list(CASE_COLUMNS))
        masked = masked_texts(db(), rows)  # stored masks where the text and masker are unchanged
        for case in rows:
            sheet.append(_case_row(case, tz, masked[case.id]))
        notes = wb.create_sheet("说明")
        notes.append(["说明", "内容"])
        notes.append(["范围", f"导出人可见范围内符合筛选条件的诉求，最多 {limit} 条"])
        notes.append(["脱敏", "诉求内容中的姓名、电话、证件号、车牌、住址、银行卡、邮箱已脱敏"])
        notes.append(["时间", f"均为 {tz.key} 时间"])
        path = _tmp()
        wb.save(path)
        audit("export_cases", "cases.xlsx", rows=len(rows), status=filters.status or None)
        return _send(path, "诉求.xlsx")

    @bp.get("/export/stats.xlsx")
    def export_stats() -> WerkzeugResponse | tuple[str, int]:
        region_code, station_ids, allowed = pages._stats_scope(request.args.get("region"))
        if not allowed:
            return refuse(f"stats export of region {request.args.get('region')}")
        by = request.args.get("by") or None
        if by is not None and by not in GROUPINGS:
            by = None
        report = build_report(
            db(),
            region_code=region_code,
            window=pages._window(request.args),
            calendar=work_calendar(runtime().settings, db()),
            by=by,
            station_ids=station_ids,
        )
        path = write_stats_xlsx(report, _tmp())
        audit(
            "export_stats", f"stats.xlsx?region={region_code}&by={by}", rows=len(report.groups) or 1
        )
        return _send(path, "统计.xlsx")
