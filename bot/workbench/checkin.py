"""会场签到 in the workbench: the H5 page the venue's QR code opens, `/workbench/checkin/<token>`.

Scanned with DingTalk, the page opens inside the client, logs the deputy in with 免登 (the same
login as the workbench, bot/workbench/auth.py) and offers one 签到 button; the check-in goes
through the same handler and rules as the text command (handlers/duties/meeting.py). Outside
DingTalk the page offers the `dingtalk://dingtalkclient/page/link` link that reopens it there,
and the QR login. docs/duties.md says what is confirmed about DingTalk's scanner.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, request, url_for

from bot.pipeline.context import build_context
from bot.workbench.common import audit, db, page, refuse, runtime
from bot.workbench.sessions import csrf_ok
from handlers.duties import meeting


def _open_in_dingtalk(url: str) -> str:
    """DingTalk's documented link that opens a web page inside the client (单聊相关跳转协议)."""
    return f"dingtalk://dingtalkclient/page/link?url={quote(url, safe='')}"


def register(bp: Blueprint) -> None:
    """Add the 签到 page to the workbench blueprint."""

    @bp.get("/checkin/<token>")
    def checkin_page(token: str) -> str | tuple[str, int]:
        from flask import g

        m = meeting.meeting_by_token(db(), token)
        if m is None:
            return page("checkin.html", meeting=None), 404
        here = url_for(".checkin_page", token=token, _external=True)
        current = getattr(g, "wb_login", None)
        if current is None:  # 免登 inside DingTalk; elsewhere a link back into DingTalk
            settings = runtime().settings
            return page(
                "checkin.html",
                meeting=m,
                signed_in=False,
                in_dingtalk="DingTalk" in request.headers.get("User-Agent", ""),
                jsapi_url=settings.workbench.jsapi_url,
                corp_id=settings.workbench.corp_id,
                client_id=settings.dingtalk.client_id,
                next_url=url_for(".checkin_page", token=token),
                open_in_dingtalk=_open_in_dingtalk(here),
            )
        row = meeting.attendee_status(db(), m, current.viewer.person)
        return page("checkin.html", meeting=m, signed_in=True, row=row, result=None)

    @bp.post("/checkin/<token>")
    def checkin_submit(token: str) -> str | tuple[str, int]:
        from bot.workbench.common import login

        m = meeting.meeting_by_token(db(), token)
        if m is None:
            return refuse("签到 with an unknown token", status=404)
        if not csrf_ok(login(), request):
            return refuse(f"签到 meeting:{m.id} without CSRF token")
        ctx = build_context(runtime().settings, db(), runtime().now(db()))  # the service clock
        result = meeting.check_in_on_page(db(), m, login().viewer.person, token, ctx)
        row = meeting.attendee_status(db(), m, login().viewer.person)
        audit("checkin", f"meeting:{m.id}", ok=bool(row and row.checked_in_at))
        return page("checkin.html", meeting=m, signed_in=True, row=row, result=result)
