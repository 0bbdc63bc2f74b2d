"""The Flask application: thin routes only; protocol work lives in the adapters."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy import text

from bot import metrics
from bot.config import Settings, load_settings
from bot.readiness import INSTANCE_HEADER, instance_id
from bot.runtime import Runtime, build_runtime, install

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Create the web app for `settings` (default: loaded from file and environment)."""
    if runtime is None:
        runtime = build_runtime(settings or load_settings(), web=True)
    install(runtime)
    app = Flask("lianxin")
    app.config["MAX_CONTENT_LENGTH"] = runtime.settings.web.max_body_bytes
    app.extensions["lianxin"] = runtime
    _register_core(app, runtime)
    _register_adapters(app, runtime)
    from bot.calendar_health import warn_at_start

    warn_at_start(runtime, "web")
    return app


def _register_core(app: Flask, rt: Runtime) -> None:
    instance = instance_id()

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        checks = {"database": _check_db(rt), "redis": _check_redis(rt)}
        if any(v != "ok" for v in checks.values()):
            res = jsonify(status="degraded", service="lianxin", **checks)
            res.headers[INSTANCE_HEADER] = instance
            return res, 503  # not ready: cannot take work
        # Ready, but with a known gap: 200 so load balancers keep routing, "degraded" with the
        # reason so monitoring alerts (docs/calendar.md).
        calendar, reasons = _check_calendar(rt)
        status = "ok" if not reasons else "degraded"
        res = jsonify(
            status=status, service="lianxin", **checks, calendar=calendar, reasons=reasons
        )
        res.headers[INSTANCE_HEADER] = instance  # lets `lianxin run` tell us from another server
        return res, 200

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(rt), mimetype="text/plain; version=0.0.4")


def _check_db(rt: Runtime) -> str:
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        log.warning("healthz: database unavailable: %s", exc)
        return "unavailable"
    return "ok"


def _check_calendar(rt: Runtime) -> tuple[str, list[str]]:
    from bot.calendar_health import missing_reason, missing_years

    try:
        years = missing_years(rt)
    except Exception as exc:
        log.warning("healthz: calendar check failed: %s", exc)
        return "unknown", [f"calendar check failed: {type(exc).__name__}"]
    if not years:
        return "ok", []
    return "missing " + ",".join(str(y) for y in years), [missing_reason(years)]


def _check_redis(rt: Runtime) -> str:
    try:
        rt.redis.ping()
    except Exception as exc:
        log.warning("healthz: redis unavailable: %s", exc)
        return "unavailable"
    return "ok"


def _register_adapters(app: Flask, rt: Runtime) -> None:
    from bot.wecom.web import blueprint as wecom_blueprint

    app.register_blueprint(wecom_blueprint(rt))
    from bot.workbench import blueprint as workbench_blueprint

    app.register_blueprint(workbench_blueprint(rt))
    if rt.settings.sandbox_mode:  # only then: the sandbox is not even imported in production
        from bot.sandbox.web import blueprint as sandbox_blueprint

        app.register_blueprint(sandbox_blueprint(rt))
