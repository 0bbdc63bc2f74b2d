"""The workbench's 履职 pages: the 积分 table and deputy list, each deputy's 履职档案, exports.

Figures come from the same code as `lianxin deputies record|scores` (handlers/duties/record.py,
scores.py), scoped by handlers/workbench/duties.py; exports go through bot/exports/duties_xlsx
with the activity texts masked, and every view and export is audited.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from bot.workbench.common import audit, db, login, page, refuse, runtime
from handlers.duties.record import archives, points_table
from handlers.privacy import mask_text
from handlers.workbench.duties import deputy_lines, find_visible_deputy, score_rows
from storage.models import Deputy


def _year() -> int:
    from bot.workbench.pages import today_local

    raw = request.args.get("year", "")
    this_year = today_local().year
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= this_year + 1 else this_year


def _points() -> dict[str, float]:
    return points_table(runtime().settings.duties.points)


def register(bp: Blueprint) -> None:
    """Add the 履职 routes to the workbench blueprint."""

    @bp.get("/duties")
    def duties() -> str | WerkzeugResponse | tuple[str, int]:
        viewer = login().viewer
        year = _year()
        if viewer.person.kind == "deputy" and not viewer.is_admin:
            deputy = db().get_one(Deputy, viewer.person.id)
            return redirect(url_for(".duty_record", code=deputy.code, year=year))
        lines = deputy_lines(db(), viewer, year, _points())
        rows = score_rows(db(), viewer, year, _points())
        audit("view_duties", f"duties?year={year}", rows=len(lines))
        return page("duties.html", year=year, lines=lines, rows=rows)

    @bp.get("/duties/<code>")
    def duty_record(code: str) -> str | tuple[str, int]:
        deputy = find_visible_deputy(db(), login().viewer, code)
        if deputy is None:
            return refuse(f"履职档案 of {code}")
        year = _year()
        archive = archives(db(), year, _points(), {deputy.id})[deputy.id]
        audit("view_duty_record", f"deputy:{deputy.code}?year={year}", rows=len(archive.entries))
        return page("duty_record.html", archive=archive, year=year, mask=mask_text)

    @bp.get("/export/duties/<code>.xlsx")
    def export_duty_record(code: str) -> WerkzeugResponse | tuple[str, int]:
        from bot.exports.duties_xlsx import write_archive_xlsx
        from bot.workbench.exports import _send, _tmp

        deputy = find_visible_deputy(db(), login().viewer, code)
        if deputy is None:
            return refuse(f"履职档案 export of {code}")
        year = _year()
        archive = archives(db(), year, _points(), {deputy.id})[deputy.id]
        path = _tmp()
        write_archive_xlsx(archive, path, masked=True)
        audit("export_duty_record", f"deputy:{deputy.code}?year={year}", rows=len(archive.entries))
        return _send(path, f"履职档案-{deputy.code}-{year}.xlsx")

    @bp.get("/export/duty_scores.xlsx")
    def export_duty_scores() -> WerkzeugResponse | tuple[str, int]:
        from bot.exports.duties_xlsx import write_scores_xlsx
        from bot.workbench.exports import _send, _tmp

        viewer = login().viewer
        if viewer.person.kind == "deputy" and not viewer.is_admin:
            return refuse("履职积分 export (deputy)")
        year = _year()
        rows = score_rows(db(), viewer, year, _points())
        path = _tmp()
        write_scores_xlsx(rows, path)
        audit("export_duty_scores", f"duty_scores.xlsx?year={year}", rows=len(rows))
        return _send(path, f"履职积分-{year}.xlsx")
