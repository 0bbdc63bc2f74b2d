"""DingTalk user login, server side: an OAuth authCode or a 免登 code → the person's userid.

Protocol (docs/dingtalk-login.md): `POST /v1.0/oauth2/userAccessToken` turns the OAuth code
into a user token, `GET /v1.0/contact/users/me` gives the unionId, and the old host's
`topapi/user/getbyunionid` maps it to the userid; a 免登 code goes to `topapi/v2/user/getuserinfo`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import requests

from bot.dingtalk.api import ApiConfig, TokenCache
from bot.runtime import Runtime

log = logging.getLogger(__name__)


class LoginFailed(Exception):
    """DingTalk did not confirm who this is; `reason` is logged, the user sees a polite page."""


def authorize_url(rt: Runtime, redirect_uri: str, state: str) -> str:
    """Where to send the browser for 扫码登录."""
    params = {
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "client_id": rt.settings.dingtalk.client_id,
        "scope": "openid corpid",
        "state": state,
        "prompt": "consent",
    }
    return f"{rt.settings.dingtalk.login_endpoint.rstrip('/')}/oauth2/auth?{urlencode(params)}"


def _post(
    url: str, body: dict[str, Any], timeout: float, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    try:
        resp = requests.post(url, json=body, headers=headers or {}, timeout=timeout)
        data = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise LoginFailed(f"{url.split('?')[0]}: {type(exc).__name__}") from None
    if not isinstance(data, dict):
        raise LoginFailed(f"{url.split('?')[0]}: not a JSON object")
    if resp.status_code >= 400 or data.get("errcode", 0) not in (0, "0"):
        code = data.get("code") or data.get("errcode")
        raise LoginFailed(f"{url.split('?')[0]}: HTTP {resp.status_code} {code}")
    return data


def _app_token(rt: Runtime) -> str:
    cfg = ApiConfig.from_settings(rt.settings.dingtalk, rt.settings.redis.queue_prefix)
    try:
        return TokenCache(rt.redis, cfg, requests.Session()).get()
    except Exception as exc:  # the token endpoint or Redis is down
        raise LoginFailed(f"app accessToken: {type(exc).__name__}") from None


def oauth_user_id(rt: Runtime, code: str) -> str:
    """The userid behind an OAuth authCode (扫码登录)."""
    dt = rt.settings.dingtalk
    timeout = dt.timeout_seconds
    api = dt.openapi_endpoint.rstrip("/")
    token = _post(
        f"{api}/v1.0/oauth2/userAccessToken",
        {
            "clientId": dt.client_id,
            "clientSecret": dt.client_secret.get_secret_value(),
            "code": code,
            "grantType": "authorization_code",
        },
        timeout,
    ).get("accessToken")
    if not token:
        raise LoginFailed("userAccessToken: no accessToken")
    try:
        resp = requests.get(
            f"{api}/v1.0/contact/users/me",
            headers={"x-acs-dingtalk-access-token": str(token)},
            timeout=timeout,
        )
        me = resp.json() if resp.status_code == 200 else {}
    except (requests.RequestException, ValueError) as exc:
        raise LoginFailed(f"users/me: {type(exc).__name__}") from None
    union = me.get("unionId") if isinstance(me, dict) else None
    if not union:
        raise LoginFailed(f"users/me: HTTP {resp.status_code}, no unionId")
    oapi = dt.oapi_endpoint.rstrip("/")
    result = (
        _post(
            f"{oapi}/topapi/user/getbyunionid?access_token={_app_token(rt)}",
            {"unionid": union},
            timeout,
        ).get("result")
        or {}
    )
    user_id = result.get("userid") if isinstance(result, dict) else None
    if not user_id:
        raise LoginFailed("getbyunionid: no userid (not a member of this organisation?)")
    return str(user_id)


def mianden_user_id(rt: Runtime, code: str) -> str:
    """The userid behind a 免登 code from `dd.requestAuthCode` inside the DingTalk client."""
    dt = rt.settings.dingtalk
    oapi = dt.oapi_endpoint.rstrip("/")
    result = (
        _post(
            f"{oapi}/topapi/v2/user/getuserinfo?access_token={_app_token(rt)}",
            {"code": code},
            dt.timeout_seconds,
        ).get("result")
        or {}
    )
    user_id = result.get("userid") if isinstance(result, dict) else None
    if not user_id:
        raise LoginFailed("getuserinfo: no userid")
    return str(user_id)
