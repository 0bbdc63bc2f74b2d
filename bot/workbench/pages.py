"""The workbench pages: 概览, 诉求, 诉求详情 (with staff actions), 代表, media, audit."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from flask import Blueprint, abort, request, send_file, url_for
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response as WerkzeugResponse

from bot.workbench import actions, forms
from bot.workbench.common import audit, db, login, page, refuse, runtime
from bot.workcal_config import service_zone, work_calendar
from handlers import texts
from handlers.insight.category import categories
from handlers.insight.category_set import active
from handlers.stats import StatsReport, Window, build_reports
from handlers.workbench.caselist import SORT_LABELS, list_cases
from handlers.workbench.detail import case_record, deputy_options
from handlers.workbench.labels import event_line
from handlers.workbench.masked import masked_texts
from handlers.workbench.scope import may_see, visible_regions, visible_stations
from storage.models import AuditEntry, Case, Department, Message
from storage.timeutil import utcnow


def _mask(text: str) -> str:
    from handlers.privacy import mask_text

    return mask_text(text)


def _window(args: MultiDict[str, str]) -> Window:
    tz = service_zone(runtime().settings)
    today = utcnow().astimezone(tz).date()
    first = forms.parse_date(args.get("from")) or forms.month_start(today)
    last = forms.parse_date(args.get("to")) or today
    return Window(min(first, last), max(first, last), tz)


def _stats_scope(region_code: str | None) -> tuple[str | None, frozenset[int] | None, bool]:
    """(region code, station ids, allowed) for the viewer's statistics."""
    viewer = login().viewer
    regions = visible_regions(db(), viewer)
    if regions:
        codes = [r.code for r in regions]
        if region_code and region_code not in codes:
            return None, None, False
        return region_code or codes[0], None, True
    stations = frozenset(s.id for s in visible_stations(db(), viewer))
    return None, stations, not region_code


def _place_name(place_id: int | None) -> str | None:
    from storage.models.insight import Place

    place = db().get(Place, place_id) if place_id is not None else None
    return place.name if place is not None else None


def _reports(
    groupings: tuple[str | None, ...], *, charts_only: bool = False
) -> dict[str | None, StatsReport] | None:
    """The request's statistics (region and period from the query), None outside the scope."""
    region_code, station_ids, allowed = _stats_scope(request.args.get("region"))
    if not allowed:
        return None
    return build_reports(
        db(),
        region_code=region_code,
        window=_window(request.args),
        calendar=work_calendar(runtime().settings, db()),
        groupings=groupings,
        station_ids=station_ids,
        charts_only=charts_only,
    )


def register(bp: Blueprint) -> None:
    """Add the pages to the workbench blueprint."""

    @bp.get("/")
    def overview() -> str | tuple[str, int]:
        # the charts show the groups' counts only, so no other figure of a group is computed
        reports = _reports((None, "week", "category", "station"), charts_only=True)
        if reports is None:
            return refuse(f"overview of region {request.args.get('region')}")
        report = reports[None]
        charts = {
            by: [
                {"name": g.label, "value": g.figures["collected"].value} for g in reports[by].groups
            ]
            for by in ("week", "category", "station")
        }
        return page(
            "overview.html",
            report=report,
            defs=report.as_dict()["definitions"],
            charts=json.dumps(charts, ensure_ascii=False),
            regions=visible_regions(db(), login().viewer),
        )

    @bp.get("/deputies")
    def deputies() -> str | tuple[str, int]:
        by_deputy = _reports(("deputy",))
        if by_deputy is None:
            return refuse(f"deputies of region {request.args.get('region')}")
        report = by_deputy["deputy"]
        sort = request.args.get("sort", "collected")
        groups = sorted(
            report.groups,
            key=lambda g: -(g.figures[sort].value or 0) if sort in g.figures else 0,
        )
        defs = report.as_dict()["definitions"]
        return page("deputies.html", report=report, groups=groups, sort=sort, defs=defs)

    @bp.route("/cases", methods=["GET", "POST"])
    def cases() -> str | tuple[str, int]:
        if request.method == "POST" and not _csrf():
            return refuse("case search without CSRF token")
        tz = service_zone(runtime().settings)
        filters = forms.case_filter(request.form if request.method == "POST" else MultiDict(), tz)
        result = list_cases(db(), login().viewer, filters, utcnow())
        masked = masked_texts(db(), [line for line in result.lines if not line.handles])
        return page(
            "cases.html",
            result=result,
            masked=masked,
            stations=visible_stations(db(), login().viewer),
            regions=visible_regions(db(), login().viewer),
            statuses=texts.STATUS_LABELS,
            sorts=SORT_LABELS,
        )

    @bp.get("/cases/<int:number>")
    def case_detail(number: int) -> str | tuple[str, int]:
        if not may_see(db(), login().viewer, number):
            return refuse(f"case:{number}")
        case = db().get(Case, number)
        assert case is not None
        record = case_record(db(), login().viewer, case, _mask)
        text = case.text if record.unmasked else masked_texts(db(), [case])[case.id]
        audit("view_case", f"case:{number}", unmasked=record.unmasked)
        departments = list(
            db().scalars(select(Department).where(Department.region_id.is_not(None)))
        )
        return page(
            "case.html",
            record=record,
            text=text,  # the stored masked text unless the viewer handles the case
            deputies=deputy_options(db(), case),
            departments=departments,
            notice=request.args.get("notice"),
            labels=texts.STATUS_LABELS,
            mask=_mask,
            event_line=event_line,
            categories=categories(),
            category_label=active().label(case.category) if case.category else None,
            place=_place_name(case.place_id),
        )

    @bp.post("/cases/<int:number>/action")
    def case_action(number: int) -> WerkzeugResponse | tuple[str, int]:
        if not _csrf():
            return refuse(f"action on case:{number} without CSRF token")
        if not may_see(db(), login().viewer, number):
            return refuse(f"action on case:{number}")
        notice = actions.perform(runtime(), db(), login().viewer, number, request.form)
        audit("case_action", f"case:{number}", verb=request.form.get("verb", ""))
        from flask import redirect

        return redirect(url_for(".case_detail", number=number, notice=notice))

    @bp.get("/media/<int:message_id>")
    def media(message_id: int) -> WerkzeugResponse | tuple[str, int]:
        msg = db().get(Message, message_id)
        if msg is None or msg.case_id is None or not may_see(db(), login().viewer, msg.case_id):
            return refuse(f"media:{message_id}")
        path = Path(msg.media_path or "")
        media_root = (runtime().settings.var_dir / "media").resolve()
        if not path.is_file() or media_root not in path.resolve().parents:
            abort(404)
        return send_file(path.resolve(), max_age=0)

    @bp.get("/hotspots")
    def hotspots() -> str | tuple[str, int]:
        from handlers.insight.brief import BriefError, Week, build_brief, parse_week

        regions = visible_regions(db(), login().viewer)
        if not regions:
            return refuse("hotspots (no region in scope)")
        code = request.args.get("region") or regions[0].code
        if code not in {r.code for r in regions}:
            return refuse(f"hotspots of region {code}")
        last_week = Week.of(today_local()).previous()
        try:
            week = parse_week(request.args["week"]) if request.args.get("week") else last_week
        except BriefError:
            week = last_week
        brief = build_brief(db(), code, week)
        return page("hotspots.html", brief=brief, regions=regions, region_code=code)

    @bp.get("/audit")
    def audit_log() -> str | tuple[str, int]:
        if not login().viewer.is_admin:
            return refuse("audit log")
        rows = list(db().scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(500)))
        return page("audit.html", rows=rows)

    def _csrf() -> bool:
        from bot.workbench.sessions import csrf_ok

        return csrf_ok(login(), request)


def today_local() -> date:
    """Today in the service time zone."""
    return utcnow().astimezone(service_zone(runtime().settings)).date()
