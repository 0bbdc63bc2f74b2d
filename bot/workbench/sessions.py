"""Server-side login sessions: a random cookie token, its hash in the database, CSRF per session.

The cookie is HttpOnly, SameSite=Lax, and Secure unless the workbench is served on loopback.
A session unused for `idle_minutes` is gone; logging out deletes it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Request
from sqlalchemy import delete
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.runtime import Runtime
from handlers.workbench.scope import Viewer, viewer_by_id
from storage.models import WebSession
from storage.timeutil import utcnow

COOKIE = "lianxin_wb"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Login:
    """The current request's logged-in person and their CSRF token."""

    viewer: Viewer
    csrf: str
    token_hash: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, viewer: Viewer, via: str) -> str:
    """Create a session for `viewer`; return the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    p = viewer.person
    session.add(
        WebSession(
            token_hash=_hash(token),
            person_kind=p.kind,
            person_id=p.id,
            dingtalk_user_id=p.dingtalk_user_id or "",
            csrf_token=secrets.token_urlsafe(24),
            via=via,
            created_at=utcnow(),
            last_seen_at=utcnow(),
        )
    )
    return token


def load(rt: Runtime, session: Session, request: Request) -> Login | None:
    """The login behind the request's cookie, touching it; None when absent, unknown or idle."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = session.get(WebSession, _hash(token))
    if row is None:
        return None
    idle = timedelta(minutes=rt.settings.workbench.idle_minutes)
    if utcnow() - row.last_seen_at > idle:
        session.delete(row)
        return None
    admins = frozenset(rt.settings.workbench.admin_user_ids)
    viewer = viewer_by_id(session, row.person_kind, row.person_id, admins)
    if viewer is None:  # removed from the directory since logging in
        session.delete(row)
        return None
    row.last_seen_at = utcnow()
    return Login(viewer, row.csrf_token, row.token_hash)


def end(session: Session, login: Login) -> None:
    """Log out: forget the session."""
    session.execute(delete(WebSession).where(WebSession.token_hash == login.token_hash))


def csrf_ok(login: Login, request: Request) -> bool:
    """True when a state-changing request carries this session's CSRF token."""
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    return hmac.compare_digest(sent, login.csrf)


def set_cookie(response: Response, token: str, request: Request) -> None:
    """Attach the session cookie with the strictest flags the deployment allows."""
    secure = (request.host.split(":")[0] not in LOOPBACK) or request.is_secure
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/workbench"
    )


def clear_cookie(response: Response) -> None:
    """Remove the session cookie."""
    response.delete_cookie(COOKIE, path="/workbench")


def rate_limited(rt: Runtime, client: str) -> bool:
    """True when `client` tried to log in too often in the last minute (Redis counter)."""
    key = f"{rt.settings.redis.queue_prefix}:wb:login:{client}"
    try:
        with rt.redis.pipeline() as pipe:
            pipe.set(key, 0, ex=60, nx=True)  # the minute starts with the first attempt
            pipe.incr(key)
            count = int(pipe.execute()[1])
    except Exception:  # Redis down: do not lock everybody out of the workbench
        return False
    return count > rt.settings.workbench.logins_per_minute
