"""The outbound WeCom client (workers only): shared token, bounded retries, errcode mapping.

`LianxinWeChatClient` is wechatpy's enterprise client pointed at `settings.wecom.api_base`
(gettoken included, which wechatpy hard-codes to the public host), with `auto_retry=False`
(wechatpy retries 40014/42001 without limit) and a timeout on every call. The access token is
cached in Redis for every process and refreshed by one process at a time under a Redis lock.

`WeComApi.call` is the only way jobs reach WeCom: on 40014/42001/41001 it refreshes the token
once and retries once; any other failure becomes a `SendError` carrying the code and meaning,
retryable (with a `retry_after` hint) for 45009, 45033, -1, HTTP 5xx, timeouts and network
errors, final otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from bot.pipeline.registry import SendError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40014, 42001, 41001})
# WeCom blocks a caller for 60 s after a per-minute limit; concurrency and "busy" pass quickly
RETRY_AFTER: dict[int, float] = {45009: 60.0, 45033: 5.0, -1: 2.0}
TOKEN_MARGIN = 300  # refresh this long before WeCom's expires_in runs out
MEDIA_MAX_BYTES = 20 * 1024 * 1024
MEANINGS: dict[int, str] = {
    -1: "system busy",
    40001: "invalid secret",
    40013: "invalid CorpID",
    40014: "invalid access_token",
    40033: "illegal characters",
    40035: "invalid parameter",
    40056: "invalid agentid",
    41001: "missing access_token",
    42001: "access_token expired",
    44004: "empty content",
    45002: "content too long",
    45009: "API frequency limit",
    45033: "API concurrency limit",
    48002: "no API permission",
    60020: "IP not in the app's trusted IP list",
    81013: "all recipients invalid or outside the app's visible range",
    95000: "invalid open_kfid",
    95001: "kf: 5 messages per customer message already sent",
    95002: "kf: 48 hours passed since the customer's last message",
    95007: "kf: invalid or expired callback token",
    95018: "kf: session state does not allow sending (a human servicer has it)",
}


def meaning(code: int | None) -> str:
    """A short English meaning of a WeCom errcode."""
    if code is None:
        return "no errcode"
    return MEANINGS.get(code, "WeCom error")


class LianxinWeChatClient(WeChatClient):
    """wechatpy's WeCom client on our API base, Redis token cache and timeouts."""

    def __init__(self, rt: Runtime) -> None:
        cfg = rt.settings.wecom
        prefix = rt.settings.redis.queue_prefix
        self._redis = rt.redis
        self._lock_key = f"{prefix}:wecom:token_lock"
        super().__init__(
            cfg.corp_id,
            cfg.secret.get_secret_value(),
            session=RedisStorage(rt.redis, prefix=f"{prefix}:wecom"),
            timeout=cfg.timeout_seconds,
            auto_retry=False,
        )
        base = cfg.api_base
        self.API_BASE_URL = base if base.endswith("/") else base + "/"

    @property
    def access_token_key(self) -> str:
        """Redis key of the token: per corp and secret, without any part of the secret."""
        digest = hashlib.sha256(self.secret.encode("utf-8")).hexdigest()[:12]
        return f"{self.corp_id}_{digest}_access_token"

    @property
    def access_token(self) -> str:
        """The shared token; fetched under the lock when Redis has none."""
        token = self.session.get(self.access_token_key)
        return str(token) if token else self.refresh_token(stale=None)

    def refresh_token(self, stale: str | None) -> str:
        """Replace `stale` (or fetch a first token); one process fetches, the rest reuse it."""
        wait = float(self.timeout or 5) * 2 + 1
        lock = self._redis.lock(self._lock_key, timeout=wait, blocking_timeout=wait)
        if not lock.acquire():
            raise SendError("access_token refresh lock busy", code="token_lock", retryable=True)
        try:
            current = self.session.get(self.access_token_key)
            if current and current != stale:
                return str(current)  # another process refreshed it meanwhile
            self.fetch_access_token()
            return str(self.session.get(self.access_token_key))
        finally:
            try:
                lock.release()
            except Exception:  # the lock expired under a slow gettoken: nothing to release
                log.debug("token lock already released")

    def fetch_access_token(self) -> dict[str, Any]:
        """gettoken on our API base, with a timeout (wechatpy's has neither)."""
        log.info("fetching a WeCom access_token")
        res = self._http.get(
            self.API_BASE_URL + "gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        if res.status_code != 200:
            raise WeChatClientException(None, f"gettoken HTTP {res.status_code}", client=self)
        result: dict[str, Any] = res.json()
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(
                int(result["errcode"]), str(result.get("errmsg", "")), client=self
            )
        ttl = max(int(result.get("expires_in", 7200)) - TOKEN_MARGIN, 60)
        self.session.set(self.access_token_key, result["access_token"], ttl)
        return result

    def forget_token(self, token: str) -> None:
        """Drop `token` from Redis if it is still the shared one (it was refused)."""
        if self.session.get(self.access_token_key) == token:
            self.session.delete(self.access_token_key)


@dataclass(frozen=True)
class Media:
    """A downloaded media file."""

    data: bytes
    content_type: str
    filename: str


class WeComApi:
    """Every WeCom call a job makes, with errcodes mapped to `SendError`."""

    def __init__(self, rt: Runtime, client: LianxinWeChatClient | None = None) -> None:
        self.rt = rt
        self.client = client or _client_for(rt)

    def post(self, path: str, data: dict[str, Any], **kw: Any) -> dict[str, Any]:
        """POST JSON to cgi-bin/<path>; the decoded answer (errcode 0)."""
        result = self._call("post", path, data=data, **kw)
        if not isinstance(result, dict):
            raise SendError(f"{path}: answer is not JSON", code="bad_answer", retryable=True)
        return result

    def upload(self, media_type: str, path: Path) -> str:
        """media/upload a temporary file; its media_id (valid 3 days)."""
        with path.open("rb") as fh:
            result = self._call(
                "post",
                "media/upload",
                params={"type": media_type},
                files={"media": (path.name, fh)},
            )
        if not isinstance(result, dict) or not result.get("media_id"):
            raise SendError("media/upload: no media_id", code="bad_answer", retryable=True)
        return str(result["media_id"])

    def download(self, media_id: str) -> Media:
        """media/get: the file behind a media_id (kf images and voice notes)."""
        result = self._call("get", "media/get", params={"media_id": media_id})
        if isinstance(result, dict):
            raise SendError("media/get answered JSON without media", code="bad_answer")
        res: requests.Response = result
        data = res.content
        if len(data) > MEDIA_MAX_BYTES:
            raise SendError("media larger than 20 MB", code="too_large", retryable=False)
        ctype = res.headers.get("Content-Type", "application/octet-stream").split(";")[0]
        disposition = res.headers.get("Content-Disposition", "")
        filename = (
            disposition.split("filename=")[-1].strip('"') if "filename=" in disposition else ""
        )
        return Media(data, ctype, filename)

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        params = dict(kw.pop("params", None) or {})
        files = kw.get("files")
        for attempt in (1, 2):
            token = self._token()
            if files:  # a retried upload must send the file from its start again
                for _, fh in files.values():
                    fh.seek(0)
            try:
                return self.client._request(
                    method, path, params={**params, "access_token": token}, **kw
                )
            except WeChatClientException as exc:
                code = _errcode(exc)
                if code in TOKEN_ERRORS and attempt == 1:
                    log.info("WeCom %s answered %s; refreshing the token once", path, code)
                    self.client.forget_token(token)
                    continue
                raise _send_error(path, exc) from None
            except requests.Timeout:
                raise SendError(f"{path}: timed out", code="timeout", retryable=True) from None
            except requests.RequestException as exc:
                raise SendError(
                    f"{path}: {type(exc).__name__}", code="network", retryable=True
                ) from None
        raise SendError(f"{path}: token refused twice", code=42001, retryable=True)

    def _token(self) -> str:
        try:
            return self.client.access_token
        except WeChatClientException as exc:
            raise _send_error("gettoken", exc) from None
        except requests.RequestException as exc:
            raise SendError(
                f"gettoken: {type(exc).__name__}", code="network", retryable=True
            ) from None


_clients: dict[int, tuple[Runtime, LianxinWeChatClient]] = {}
_clients_lock = threading.Lock()


def _client_for(rt: Runtime) -> LianxinWeChatClient:
    """One client per runtime, so a worker keeps its HTTP connections to WeCom alive."""
    with _clients_lock:
        found = _clients.get(id(rt))
        if found is None or found[0] is not rt:
            found = (rt, LianxinWeChatClient(rt))
            _clients[id(rt)] = found
        return found[1]


def _errcode(exc: WeChatClientException) -> int | None:
    try:
        return int(exc.errcode) if exc.errcode is not None else None
    except (TypeError, ValueError):
        return None


def _send_error(path: str, exc: WeChatClientException) -> SendError:
    code = _errcode(exc)
    if code is None:  # an HTTP error status, no JSON
        status = getattr(getattr(exc, "response", None), "status_code", None)
        return SendError(
            f"{path}: HTTP {status}",
            code=f"http_{status}",
            retryable=status is None or status >= 500 or status == 429,
        )
    errmsg = str(exc.errmsg or "")[:200]
    retryable = code in RETRY_AFTER or code in TOKEN_ERRORS
    return SendError(
        f"{meaning(code)} ({path}: {errmsg})",
        code=code,
        retryable=retryable,
        retry_after=RETRY_AFTER.get(code),
    )
