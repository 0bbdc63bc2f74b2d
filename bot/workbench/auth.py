"""Login and logout: 扫码登录 (OAuth 2) in a browser, 免登 inside the DingTalk client."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, g, jsonify, make_response, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from bot.workbench import dtlogin, sessions
from bot.workbench.common import db, log, page, refuse, runtime
from handlers.workbench.scope import viewer_for

STATE_COOKIE = "lianxin_wb_state"
NEXT_COOKIE = "lianxin_wb_next"  # where the QR login returns to (e.g. the 签到 page)


def _safe_next(value: str) -> str:
    """A path inside the workbench, or '' (never another site)."""
    ok = value.startswith("/workbench/") and "//" not in value and "\\" not in value
    return value if ok else ""


def _client() -> str:
    return request.remote_addr or "unknown"


def _sign_in(user_id: str, via: str) -> tuple[str | None, str]:
    """(cookie token, '') for a directory person, else (None, why) — and a log line."""
    admins = frozenset(runtime().settings.workbench.admin_user_ids)
    viewer = viewer_for(db(), user_id, admins)
    if viewer is None:
        log.warning("workbench login refused: DingTalk user %s is not in the directory", user_id)
        return None, "unknown"
    log.info("workbench login: %s %s via %s", viewer.person.kind, viewer.person.id, via)
    return sessions.start(db(), viewer, via), ""


def register(bp: Blueprint) -> None:
    """Add the login routes to the workbench blueprint."""

    @bp.get("/login")
    def login_page() -> str:
        settings = runtime().settings
        return page(
            "login.html",
            failed=request.args.get("failed"),
            # the JSAPI exists only inside the DingTalk client; elsewhere: the QR login link
            in_dingtalk="DingTalk" in request.headers.get("User-Agent", ""),
            jsapi_url=settings.workbench.jsapi_url,
            corp_id=settings.workbench.corp_id,
            client_id=settings.dingtalk.client_id,
        )

    @bp.get("/auth/start")
    def auth_start() -> WerkzeugResponse | tuple[str, int]:
        if sessions.rate_limited(runtime(), _client()):
            return refuse("login (too many attempts)", status=429)
        state = secrets.token_urlsafe(16)
        target = dtlogin.authorize_url(runtime(), url_for(".auth_callback", _external=True), state)
        response = redirect(target)
        response.set_cookie(
            STATE_COOKIE, state, max_age=600, httponly=True, samesite="Lax", path="/workbench"
        )
        back = _safe_next(request.args.get("next", ""))
        if back:
            response.set_cookie(
                NEXT_COOKIE, back, max_age=600, httponly=True, samesite="Lax", path="/workbench"
            )
        return response

    @bp.get("/auth/callback")
    def auth_callback() -> WerkzeugResponse | tuple[str, int]:
        state = request.cookies.get(STATE_COOKIE, "")
        if not state or not secrets.compare_digest(state, request.args.get("state", "")):
            log.warning("workbench login: state mismatch from %s", _client())
            return redirect(url_for(".login_page", failed="state"))
        code = request.args.get("authCode") or request.args.get("code") or ""
        if not code:
            return redirect(url_for(".login_page", failed="denied"))
        try:
            user_id = dtlogin.oauth_user_id(runtime(), code)
        except dtlogin.LoginFailed as exc:
            log.warning("workbench login failed: %s", exc)
            return redirect(url_for(".login_page", failed="dingtalk"))
        token, why = _sign_in(user_id, "oauth")
        if token is None:
            return redirect(url_for(".login_page", failed=why))
        back = _safe_next(request.cookies.get(NEXT_COOKIE, ""))
        response = redirect(back or url_for(".overview"))
        sessions.set_cookie(response, token, request)
        response.delete_cookie(STATE_COOKIE, path="/workbench")
        response.delete_cookie(NEXT_COOKIE, path="/workbench")
        return response

    @bp.post("/auth/mianden")
    def auth_mianden() -> Response | tuple[Response, int]:
        if sessions.rate_limited(runtime(), _client()):
            return jsonify(ok=False, message="登录尝试过于频繁，请稍后再试。"), 429
        body = request.get_json(silent=True)
        code = str(body.get("code") or "") if isinstance(body, dict) else ""
        if not code:
            return jsonify(ok=False, message="缺少免登授权码。"), 400
        try:
            user_id = dtlogin.mianden_user_id(runtime(), code)
        except dtlogin.LoginFailed as exc:
            log.warning("workbench 免登 failed: %s", exc)
            return jsonify(ok=False, message="钉钉未能确认您的身份，请稍后重试。"), 403
        token, _why = _sign_in(user_id, "mianden")
        if token is None:
            return jsonify(ok=False, message="您不在本平台的代表或工作人员名单中。"), 403
        response = make_response(jsonify(ok=True, next=url_for(".overview")))
        sessions.set_cookie(response, token, request)
        return response

    @bp.post("/logout")
    def logout() -> WerkzeugResponse | tuple[str, int]:
        current = getattr(g, "wb_login", None)
        if current is not None:
            if not sessions.csrf_ok(current, request):
                return refuse("logout without CSRF token")
            sessions.end(db(), current)
        response = redirect(url_for(".login_page"))
        sessions.clear_cookie(response)
        return response
