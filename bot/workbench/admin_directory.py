"""The admin's 名册 pages: the directory, a deputy's page with their leave, the roster import.

Admins only (a 403 page, a log line and an audit entry for anyone else); every POST carries
the CSRF token. Changes go through `storage.directory.import_directory`, as the CLI's do.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import yaml
from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from bot.workbench import imports
from bot.workbench.common import admin_refusal, audit, db, page, runtime
from bot.workbench.forms import parse_date
from bot.workcal_config import service_zone
from handlers import texts
from handlers.workbench.directory import DirectoryFilter, deputy_detail, directory, masked_phone
from storage.models import Deputy

Page = str | tuple[str, int]


def register(bp: Blueprint) -> None:
    """Add the 名册 pages to the workbench blueprint."""

    @bp.route("/admin/directory", methods=["GET", "POST"])
    def admin_directory() -> Page:
        refused = admin_refusal("directory", post=request.method == "POST")
        if refused:
            return refused
        form = request.form if request.method == "POST" else request.args
        station = form.get("station", "")
        f = DirectoryFilter(
            q=form.get("q", "")[:50],  # names are searched by POST, so they stay out of URLs
            region_code=form.get("region", "")[:64],
            station_id=int(station) if station.isdigit() else None,
        )
        found = directory(db(), f, _today())
        audit("view_directory", "directory", rows=len(found.deputies))
        return page(
            "admin_directory.html",
            d=found,
            f=f,
            today=_today(),
            phone=masked_phone,
            levels=texts.LEVEL_LABELS,
        )

    @bp.get("/admin/deputies/<int:deputy_id>")
    def admin_deputy(deputy_id: int) -> Page:
        refused = admin_refusal(f"deputy:{deputy_id}")
        if refused:
            return refused
        return _deputy_page(deputy_id, done=request.args.get("done", ""))

    @bp.post("/admin/deputies/<int:deputy_id>/leave")
    def admin_deputy_leave(deputy_id: int) -> WerkzeugResponse | Page:
        refused = admin_refusal(f"leave of deputy:{deputy_id}", post=True)
        if refused:
            return refused
        deputy = db().get(Deputy, deputy_id)
        if deputy is None:
            return _deputy_page(deputy_id)
        first, last = parse_date(request.form.get("from")), parse_date(request.form.get("to"))
        if first is None or last is None:
            return _deputy_page(deputy_id, error=texts.ADMIN_LEAVE_DATES)
        sub = request.form.get("substitute", "").strip() or None
        problems = _import_leave(deputy.code, first.isoformat(), last.isoformat(), sub)
        if problems:
            error = texts.admin_refused(len(problems))
            return _deputy_page(deputy_id, error=error, problems=problems)
        target = f"deputy:{deputy.code}"
        audit("set_leave", target, start=str(first), end=str(last), substitute=sub)
        return redirect(url_for(".admin_deputy", deputy_id=deputy_id, done="leave"))

    @bp.route("/admin/directory/import", methods=["GET", "POST"])
    def admin_directory_import() -> Page:
        return imports.preview("directory", labels=_labels())

    @bp.post("/admin/directory/import/confirm")
    def admin_directory_confirm() -> Page:
        return imports.confirm("directory", labels=_labels())

    def _labels() -> dict[str, object]:
        return {
            "sections": texts.SECTION_LABELS,
            "fields": texts.FIELD_LABELS,
            "actions": texts.IMPORT_ACTIONS,
            "show": imports.shown,
        }


def _today() -> date:
    """The service clock's date (routing's duty day uses the same clock)."""
    return runtime().now(db()).astimezone(service_zone(runtime().settings)).date()


def _deputy_page(
    deputy_id: int, *, done: str = "", error: str = "", problems: list[object] | None = None
) -> Page:
    detail = deputy_detail(db(), deputy_id)
    if detail is None:
        return page("refused.html", status=404), 404
    audit("view_deputy", f"deputy:{detail.deputy.code}")
    notice = texts.admin_leave_saved(detail.deputy.name) if done == "leave" else ""
    return page(
        "admin_deputy.html",
        detail=detail,
        today=_today(),
        phone=masked_phone,
        levels=texts.LEVEL_LABELS,
        weekdays=texts.WEEKDAY_LABELS,
        statuses=texts.STATUS_LABELS,
        notice=notice,
        error=error,
        problems=problems or [],
    )


def _import_leave(code: str, first: str, last: str, substitute: str | None) -> list[object]:
    """Set one leave through the directory importer (its overlap and substitute checks)."""
    from storage.directory import DirectoryImportError, import_directory

    row: dict[str, object] = {"deputy": code, "from": first, "to": last, "substitute": substitute}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leave.yaml"
        path.write_text(yaml.safe_dump({"leaves": [row]}, allow_unicode=True), "utf-8")
        try:
            import_directory(db(), path)
        except DirectoryImportError as exc:
            return list(imports.problems(exc.report.errors))
    return []
