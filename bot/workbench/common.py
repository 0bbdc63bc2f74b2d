"""What every workbench route shares: the runtime, the login, refusals and the audit record."""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, current_app, g, render_template
from sqlalchemy.orm import Session

from bot.runtime import Runtime
from bot.workbench.sessions import Login
from storage.models import AuditEntry
from storage.timeutil import utcnow

log = logging.getLogger("lianxin.workbench")


def runtime() -> Runtime:
    """The process runtime (set by create_app)."""
    rt: Runtime = current_app.extensions["lianxin"]
    return rt


def login() -> Login:
    """The logged-in person of this request (routes behind `require_login` only)."""
    current: Login = g.wb_login
    return current


def db() -> Session:
    """The request's database session (committed after the response is built)."""
    session: Session = g.wb_db
    return session


def audit(action: str, target: str, rows: int | None = None, **detail: Any) -> None:
    """Record who did what; committed with the request (views, exports, refusals)."""
    p = login().viewer.person if getattr(g, "wb_login", None) else None
    db().add(
        AuditEntry(
            at=utcnow(),
            person_kind=p.kind if p is not None else "anonymous",
            person_id=p.id if p is not None else None,
            person_name=p.name if p is not None else "未登录",
            action=action,
            target=target[:256],
            rows=rows,
            detail=detail,
        )
    )


def refuse(what: str, status: int = 403) -> tuple[str, int]:
    """A polite refusal page, a log line and an audit entry; nothing else changes."""
    who = login().viewer.person if getattr(g, "wb_login", None) else None
    log.warning("workbench refused %s to %s", what, f"{who.kind}:{who.id}" if who else "anonymous")
    if who is not None:
        audit("refused", what)
    return render_template("refused.html", status=status), status


def admin_refusal(what: str, *, post: bool = False) -> tuple[str, int] | None:
    """The refusal for a non-admin (or a POST without the CSRF token); None when allowed."""
    from flask import request

    from bot.workbench.sessions import csrf_ok

    if not login().viewer.is_admin:
        return refuse(what)
    if post and not csrf_ok(login(), request):
        return refuse(f"{what} without CSRF token")
    return None


def page(template: str, **context: Any) -> str:
    """Render a workbench page with the login and CSRF token available to the template."""
    from handlers.insight.category_set import active

    # a stored category as the deployment names it now (「违章搭建（已停用）」 once removed)
    context.setdefault("category_name", active().label)
    return render_template(template, login=getattr(g, "wb_login", None), **context)


def security_headers(response: Response) -> Response:
    """Strict headers on every workbench response (CSP without inline script)."""
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self' https://g.alicdn.com; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self' " + runtime().settings.dingtalk.login_endpoint.rstrip("/")
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response
