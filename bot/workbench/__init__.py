"""The web workbench (工作台) for the office, stations and deputies, at /workbench.

Server-rendered Chinese pages with minimal JavaScript (ECharts from our own static folder).
Every request opens one database session: the login is loaded from its cookie, every page,
action and export is checked against the viewer's scope, and views and exports are audited.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, g, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from bot.runtime import Runtime
from bot.workbench import (
    admin_directory,
    admin_settings,
    auth,
    checkin,
    duties_pages,
    exports,
    pages,
    sessions,
)
from bot.workbench.common import security_headers
from bot.workcal_config import service_zone

# the 签到 page greets a deputy who is not logged in yet (it logs them in with 免登 itself)
PUBLIC_ENDPOINTS = {
    "login_page", "auth_start", "auth_callback", "auth_mianden", "logout", "static",
    "checkin_page",
}  # fmt: skip


def blueprint(rt: Runtime) -> Blueprint:
    """The workbench blueprint (registered by create_app)."""
    bp = Blueprint(
        "workbench",
        __name__,
        url_prefix="/workbench",
        template_folder="templates",
        static_folder="static",
    )

    @bp.before_request
    def open_session() -> WerkzeugResponse | None:
        g.wb_db = rt.sessions()
        g.wb_db.begin()
        g.wb_login = sessions.load(rt, g.wb_db, request)
        endpoint = (request.endpoint or "").rsplit(".", 1)[-1]
        if g.wb_login is None and endpoint not in PUBLIC_ENDPOINTS:
            return redirect(url_for(".login_page"))
        return None

    @bp.after_request
    def finish(response: Response) -> Response:
        db = g.pop("wb_db", None)
        if db is not None:
            db.commit()
            db.close()
        for outbox_id in g.pop("wb_outbox", []):  # sent only once the action is committed
            from bot.pipeline.outbox_jobs import enqueue_send

            enqueue_send(rt, outbox_id)
        return security_headers(response)

    @bp.teardown_request
    def rollback(_exc: BaseException | None) -> None:
        db = g.pop("wb_db", None)
        if db is not None:  # an error before after_request: nothing of this request is kept
            db.rollback()
            db.close()

    zone = service_zone(rt.settings)

    @bp.app_template_filter("localtime")
    def localtime(t: datetime | None) -> str:
        return t.astimezone(zone).strftime("%Y-%m-%d %H:%M") if t is not None else "—"

    auth.register(bp)
    pages.register(bp)
    exports.register(bp)
    duties_pages.register(bp)
    checkin.register(bp)
    admin_directory.register(bp)
    admin_settings.register(bp)
    return bp
