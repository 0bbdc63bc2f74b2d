"""One `POST oapi /media/upload` request and its old-API answer (see docs/dingtalk-media.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from bot.dingtalk.api import ApiError, _json

if TYPE_CHECKING:
    from bot.dingtalk.api import DingTalkApi

QPS_ERRCODES = frozenset({90018, 90002})
BUSY = -1


def upload_once(
    api: DingTalkApi, token: str, media_type: str, filename: str, data: bytes, mimetype: str
) -> str:
    """Upload `data`; the media_id, or ApiError with the errcode and whether to retry."""
    url = api.cfg.oapi_endpoint + "/media/upload"
    try:
        resp = api.http.post(
            url,
            # `type` is a query parameter in the official example and a form field in the
            # Stream SDK's upload_to_dingtalk: send both
            params={"access_token": token, "type": media_type},
            data={"type": media_type},
            files={"media": (filename, data, mimetype)},
            timeout=api.cfg.timeout * 2,
        )
    except requests.Timeout:
        raise ApiError("media/upload timed out", code="timeout") from None
    except requests.RequestException as exc:
        raise ApiError(f"media/upload: {exc}", code="connection") from None
    body = _json(resp)
    errcode = body.get("errcode")
    media_id = body.get("media_id")
    if resp.status_code == 200 and errcode in (0, None) and isinstance(media_id, str) and media_id:
        return media_id
    message = f"media/upload: HTTP {resp.status_code} errcode {errcode} {body.get('errmsg') or ''}"
    if errcode in QPS_ERRCODES:
        return _raise(message.strip(), str(errcode), retryable=True, retry_after=1.0)
    retryable = resp.status_code >= 500 or errcode == BUSY or resp.status_code == 401
    return _raise(message.strip(), str(errcode), retryable=retryable, retry_after=None)


def _raise(message: str, code: str, *, retryable: bool, retry_after: float | None) -> str:
    raise ApiError(message, code=code, retryable=retryable, retry_after=retry_after)
