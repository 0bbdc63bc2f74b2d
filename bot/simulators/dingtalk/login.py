"""The simulator's user login: 扫码登录 (OAuth 2) and 免登 (an H5 micro-app's authCode).

Plays login.dingtalk.com's authorize page (a list of the org's users stands in for scanning the
QR code with the DingTalk app), the code → user-token exchange, `contact/users/me`,
`topapi/user/getbyunionid` and `topapi/v2/user/getuserinfo`, as docs/dingtalk-login.md records.
Codes are single use and live 5 minutes; user tokens 2 hours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape

from aiohttp import web

from bot.simulators.dingtalk.core import SimCore

CODE_TTL = 300.0
USER_TOKEN_TTL = 7200.0


def union_id(user_id: str) -> str:
    """A stable fake unionId for a user (DingTalk's are opaque strings)."""
    return "un" + hashlib.sha256(user_id.encode()).hexdigest()[:20]


@dataclass
class _Grant:
    user_id: str
    expires_at: float


class LoginFlows:
    """Routes for both login flows over one SimCore's directory and clock."""

    def __init__(self, core: SimCore) -> None:
        self.core = core
        self.codes: dict[str, _Grant] = {}  # authCode (OAuth) and 免登 code → user
        self.user_tokens: dict[str, _Grant] = {}

    def add_routes(self, app: web.Application) -> None:
        """Register the login routes (before the /v1.0 catch-all)."""
        app.router.add_get("/oauth2/auth", self.authorize_page)
        app.router.add_post("/oauth2/auth/approve", self.approve)
        app.router.add_post("/v1.0/oauth2/userAccessToken", self.user_access_token)
        app.router.add_get("/v1.0/contact/users/me", self.users_me)
        app.router.add_post("/topapi/user/getbyunionid", self.getbyunionid)
        app.router.add_post("/topapi/v2/user/getuserinfo", self.getuserinfo)
        app.router.add_post("/_sim/login/mianden_code", self.mianden_code)

    # -- helpers ---------------------------------------------------------------------------
    def _issue_code(self, user_id: str) -> str:
        code = self.core.ctx.ids.hex(16)
        self.codes[code] = _Grant(user_id, self.core.ctx.clock.now() + CODE_TTL)
        return code

    def _take_code(self, code: Any) -> str | None:
        grant = self.codes.pop(str(code or ""), None)  # single use
        if grant is None or grant.expires_at <= self.core.ctx.clock.now():
            return None
        return grant.user_id

    def _app_token_ok(self, request: web.Request) -> bool:
        token = request.query.get("access_token")
        expiry = self.core.tokens.tokens.get(token or "")
        return expiry is not None and expiry > self.core.ctx.clock.now()

    @staticmethod
    def _oapi_error(code: int, message: str) -> web.Response:
        # the old oapi host answers HTTP 200 with errcode/errmsg
        return web.json_response({"errcode": code, "errmsg": message})

    # -- 扫码登录 ---------------------------------------------------------------------------
    async def authorize_page(self, request: web.Request) -> web.StreamResponse:
        """The QR page of login.dingtalk.com; here: pick who "scans" it."""
        q = request.query
        if q.get("client_id") != self.core.ctx.client_id or q.get("response_type") != "code":
            return web.Response(status=400, text="invalid client_id or response_type")
        if not q.get("redirect_uri"):
            return web.Response(status=400, text="redirect_uri is required")
        items = "".join(
            "<li><form method='post' action='/oauth2/auth/approve'>"
            f"<input type='hidden' name='redirect_uri' value='{escape(q['redirect_uri'])}'>"
            f"<input type='hidden' name='state' value='{escape(q.get('state', ''))}'>"
            f"<button name='user_id' value='{escape(u.user_id)}'>{escape(u.nick)}"
            f"（{escape(u.user_id)}）</button></form></li>"
            for u in sorted(self.core.directory.users.values(), key=lambda u: u.user_id)
        )
        page = (
            "<!doctype html><meta charset='utf-8'><title>钉钉扫码登录（模拟）</title>"
            "<h1>钉钉扫码登录（模拟器）</h1><p>请选择扫码的钉钉用户：</p>"
            f"<ul id='sim-users'>{items}</ul>"
            "<form method='post' action='/oauth2/auth/approve'>"
            f"<input type='hidden' name='redirect_uri' value='{escape(q['redirect_uri'])}'>"
            f"<input type='hidden' name='state' value='{escape(q.get('state', ''))}'>"
            "<button name='deny' value='1'>拒绝授权</button></form>"
        )
        return web.Response(text=page, content_type="text/html")

    async def approve(self, request: web.Request) -> web.StreamResponse:
        """The user agreed (or refused): back to the app with authCode (or error) and state."""
        form = await request.post()
        redirect_uri = str(form.get("redirect_uri") or "")
        state = str(form.get("state") or "")
        if form.get("deny"):
            params = {"error": "access_denied", "state": state}
        else:
            user_id = str(form.get("user_id") or "")
            if user_id not in self.core.directory.users:
                return web.Response(status=400, text="unknown user")
            params = {"authCode": self._issue_code(user_id), "state": state}
        sep = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(f"{redirect_uri}{sep}{urlencode(params)}")

    async def user_access_token(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1.0/oauth2/userAccessToken`: code → user access token."""
        body = await request.json()
        ctx = self.core.ctx
        if body.get("clientId") != ctx.client_id or body.get("clientSecret") != ctx.client_secret:
            return web.json_response(
                {"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"},
                status=400,
            )
        user_id = (
            self._take_code(body.get("code"))
            if body.get("grantType") == "authorization_code"
            else None
        )
        if user_id is None:
            return web.json_response(
                {"code": "invalidAuthCode", "message": "不合法的临时授权码"}, status=400
            )
        token = ctx.ids.hex(16)
        self.user_tokens[token] = _Grant(user_id, ctx.clock.now() + USER_TOKEN_TTL)
        return web.json_response(
            {
                "accessToken": token,
                "refreshToken": ctx.ids.hex(16),
                "expireIn": int(USER_TOKEN_TTL),
                "corpId": "ding-sim-corp",
            }
        )

    async def users_me(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1.0/contact/users/me` with the user's token."""
        grant = self.user_tokens.get(request.headers.get("x-acs-dingtalk-access-token", ""))
        if grant is None or grant.expires_at <= self.core.ctx.clock.now():
            return web.json_response(
                {"code": "InvalidAuthentication", "message": "不合法的access_token"}, status=401
            )
        user = self.core.directory.users[grant.user_id]
        return web.json_response(
            {"nick": user.nick, "unionId": union_id(user.user_id), "openId": "op" + user.user_id}
        )

    async def getbyunionid(self, request: web.Request) -> web.StreamResponse:
        """`POST /topapi/user/getbyunionid?access_token=<app token>`: unionId → userid."""
        if not self._app_token_ok(request):
            return self._oapi_error(40014, "不合法的access_token")
        body = await request.json()
        for user in self.core.directory.users.values():
            if union_id(user.user_id) == body.get("unionid"):
                return web.json_response(
                    {"errcode": 0, "errmsg": "ok", "result": {"userid": user.user_id}}
                )
        return self._oapi_error(60121, "找不到该用户")

    async def getuserinfo(self, request: web.Request) -> web.StreamResponse:
        """`POST /topapi/v2/user/getuserinfo?access_token=<app token>`: 免登 code → user."""
        if not self._app_token_ok(request):
            return self._oapi_error(40014, "不合法的access_token")
        body = await request.json()
        user_id = self._take_code(body.get("code"))
        if user_id is None:
            return self._oapi_error(40078, "不存在的临时授权码")
        user = self.core.directory.users[user_id]
        result = {"userid": user_id, "unionid": union_id(user_id), "name": user.nick}
        return web.json_response({"errcode": 0, "errmsg": "ok", "result": result})

    async def mianden_code(self, request: web.Request) -> web.StreamResponse:
        """Control route: what `dd.requestAuthCode` returns inside the client for a user."""
        body = await request.json()
        user_id = str(body.get("user_id") or "")
        if user_id not in self.core.directory.users:
            return web.json_response({"error": f"unknown user {user_id!r}"}, status=400)
        return web.json_response({"code": self._issue_code(user_id)})
