"""The DingTalk OpenAPI client used by workers: shared token, shared rate limit, timeouts.

Every call goes through `DingTalkApi.call`: it waits for the path's slot in the shared limiter,
sends with the cached accessToken and a timeout, refreshes the token once on
`InvalidAuthentication`, and retries a call the server refused as too fast (dingtalk.md §4, §4.6).
Errors come out as `ApiError` with the server's code and whether trying again can help.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
import requests

from bot import metrics
from bot.config import DingtalkSettings
from bot.dingtalk.ratelimit import Admission, RateLimited, RateLimiter

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

TOKEN_PATH = "/v1.0/oauth2/accessToken"
INVALID_TOKEN = "InvalidAuthentication"
QPS_APP = "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
QPS_GLOBAL = "Forbidden.AccessDenied.QpsLimitForApi"
MONTHLY_QUOTA = "Forbidden.AccessDenied.ApiCountLimitForOrg"
BAD_CREDENTIALS = "invalidClientIdOrSecret"
QPS_CODES = frozenset({QPS_APP, QPS_GLOBAL, "90018", "90002"})
TOKEN_MARGIN = 300  # the SDK's own buffer: stop using a token 5 min before it expires
QPS_RETRIES = 2  # in-process retries of a call the server refused as too fast
QPS_PAUSE = 1.0  # first pause after a refusal: the server's window (doubles per refusal)
UNANSWERED = frozenset({"timeout", "connection"})  # no reply: the server may still see the call
MEDIA_UPLOAD = "/media/upload"
OLD_TOKEN_CODES = frozenset({"40014", "42001", "41001"})  # old-API token errors


class ApiError(Exception):
    """A failed OpenAPI call: HTTP status (0 = no answer), DingTalk code, retry hint."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class ApiConfig:
    """What the client needs from settings (kept small so tests and the bench can build one)."""

    endpoint: str
    oapi_endpoint: str  # the old API host, for media/upload
    client_id: str
    client_secret: str
    robot_code: str
    timeout: float
    qps: float
    key_prefix: str  # Redis namespace for the token, the limiter and the metrics

    @classmethod
    def from_settings(cls, s: DingtalkSettings, redis_prefix: str) -> ApiConfig:
        """Build from [dingtalk] settings; keys live under `<queue_prefix>:dingtalk`."""
        return cls(
            endpoint=s.openapi_endpoint.rstrip("/"),
            oapi_endpoint=s.oapi_base,
            client_id=s.client_id,
            client_secret=s.client_secret.get_secret_value(),
            robot_code=s.robot_code or s.client_id,
            timeout=s.timeout_seconds,
            qps=s.qps_limit,
            key_prefix=f"{redis_prefix}:dingtalk",
        )


class TokenCache:
    """The app's accessToken in Redis, fetched by one process at a time under a lock."""

    def __init__(self, conn: redis.Redis, cfg: ApiConfig, http: requests.Session) -> None:
        self.conn = conn
        self.cfg = cfg
        self.http = http
        self.key = f"{cfg.key_prefix}:token:{cfg.client_id}"

    def get(self) -> str:
        """A valid token: the shared one, or a fresh one fetched under the lock."""
        cached = _text(self.conn.get(self.key))
        if cached:
            return cached
        with self.conn.lock(
            self.key + ":lock",
            timeout=self.cfg.timeout * 2 + 5,
            blocking_timeout=self.cfg.timeout * 2 + 5,
        ):
            cached = _text(self.conn.get(self.key))  # another process may have fetched it
            if cached:
                return cached
            token, ttl = self._fetch()
            self.conn.set(self.key, token, ex=max(ttl - TOKEN_MARGIN, 60))
            return token

    def invalidate(self, token: str) -> None:
        """Forget `token` unless another process already replaced it."""
        with self.conn.pipeline() as pipe:
            try:
                pipe.watch(self.key)
                if _text(pipe.get(self.key)) == token:
                    pipe.multi()
                    pipe.delete(self.key)
                    pipe.execute()
            except redis.WatchError:
                pass  # replaced concurrently: the new token is fine

    def _fetch(self) -> tuple[str, int]:
        body = {"appKey": self.cfg.client_id, "appSecret": self.cfg.client_secret}
        data = _request(
            self.http, "POST", self.cfg.endpoint + TOKEN_PATH, body, {}, self.cfg.timeout
        )
        token = data.get("accessToken")
        if not isinstance(token, str) or not token:
            raise ApiError("accessToken missing in the token response", code="badTokenResponse")
        log.info("fetched a new DingTalk accessToken")
        return token, int(data.get("expireIn") or 7200)


def _text(value: Any) -> str:
    """A Redis reply as text ('' for none), whatever the connection's decode setting."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


class DingTalkApi:
    """OpenAPI calls with the shared token and limiter; one instance per worker process."""

    def __init__(
        self, conn: redis.Redis, cfg: ApiConfig, *, rt: Runtime | None = None, max_wait: float = 2.0
    ) -> None:
        self.cfg = cfg
        self.http = requests.Session()
        self.tokens = TokenCache(conn, cfg, self.http)
        self.limiter = RateLimiter(
            conn,
            f"{cfg.key_prefix}:rl:{cfg.client_id}",
            cfg.qps,
            max_wait=max_wait,
            in_flight_cap=cfg.timeout * 2 + 1.0,  # media/upload waits twice the timeout
        )
        self._rt = rt

    @property
    def robot_code(self) -> str:
        """The robotCode every robot and card call names."""
        return self.cfg.robot_code

    @contextmanager
    def _slot(self, path: str, max_wait: float | None = None) -> Iterator[str]:
        """Hold an admitted slot of `path` in the shared limiter around one request; yields
        the token. The slot's answer time is recorded unless the server never answered."""
        token = self.tokens.get()  # before the slot: a token fetch must not eat into it
        try:
            admission = self.limiter.acquire(path, max_wait)
        except RateLimited as exc:
            raise ApiError(str(exc), code="localRateLimit", retry_after=exc.retry_after) from None
        try:
            yield token
        except ApiError as exc:
            if exc.code not in UNANSWERED:
                self._answered(admission)
            raise
        else:
            self._answered(admission)

    def _answered(self, admission: Admission) -> None:
        answered_at = time.monotonic()
        try:
            self.limiter.answered(admission, answered_at)
        except redis.RedisError as exc:  # the slot then counts until its in-flight cap
            log.warning("could not record the answer of a %s call: %s", admission.path, exc)

    def call(
        self, method: str, path: str, body: dict[str, Any] | Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """One OpenAPI call; raises ApiError (with `retryable`) when it did not succeed.

        `body` may be a function: it is called once the limiter has admitted the call, so what
        queued up while the call waited for its slot can still go with it.
        """
        refreshed = False
        qps_refusals = 0
        patience: float | None = None
        while True:
            try:
                with self._slot(path, patience) as token:
                    return _request(
                        self.http,
                        method,
                        self.cfg.endpoint + path,
                        body() if callable(body) else body,
                        {"x-acs-dingtalk-access-token": token},
                        self.cfg.timeout,
                    )
            except ApiError as exc:
                if exc.code == INVALID_TOKEN and not refreshed:
                    refreshed = True  # refresh once: a second refusal is not about the cache
                    self.tokens.invalidate(token)
                    continue
                if exc.code in QPS_CODES and qps_refusals < QPS_RETRIES:
                    # a refused call was not carried out, so sending it again is no duplicate;
                    # everybody waits out the server's window, longer at each refusal
                    qps_refusals += 1
                    self._count("dingtalk_qps_retries")
                    pause = QPS_PAUSE * 2 ** (qps_refusals - 1)
                    self.limiter.pause(path, pause)
                    patience = pause + self.limiter.max_wait
                    log.info(
                        "%s refused as too fast (%s); retrying in %.0fs", path, exc.code, pause
                    )
                    continue
                raise

    def upload(self, media_type: str, filename: str, data: bytes, mimetype: str) -> str:
        """`POST oapi /media/upload` (multipart `media`): the new media_id (docs/dingtalk-media.md).

        Same limiter and token as every other call; an old-API token error refreshes it once.
        """
        from bot.dingtalk.media_api import upload_once

        refreshed = False
        while True:
            try:
                with self._slot(MEDIA_UPLOAD) as token:
                    return upload_once(self, token, media_type, filename, data, mimetype)
            except ApiError as exc:
                if exc.code in OLD_TOKEN_CODES and not refreshed:
                    refreshed = True
                    self.tokens.invalidate(token)
                    continue
                raise

    def webhook(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST to a sessionWebhook (no token; old-API `errcode` replies)."""
        return _request(self.http, "POST", url, body, {}, self.cfg.timeout, old_api=True)

    def _count(self, name: str) -> None:
        if self._rt is not None:
            metrics.incr(self._rt, name)


def _request(
    http: requests.Session,
    method: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    timeout: float,
    *,
    old_api: bool = False,
) -> dict[str, Any]:
    """Send one JSON request with a timeout; map every failure to ApiError."""
    all_headers = {"Content-Type": "application/json", "Accept": "application/json", **headers}
    started = time.monotonic()
    try:
        resp = http.request(
            method,
            url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers=all_headers,
            timeout=timeout,
        )
    except requests.Timeout:
        raise ApiError(
            f"{method} {_short(url)} timed out after {timeout}s", code="timeout"
        ) from None
    except requests.RequestException as exc:
        raise ApiError(f"{method} {_short(url)}: {exc}", code="connection") from None
    data = _json(resp)
    log.debug(
        "%s %s -> %s in %.3fs", method, _short(url), resp.status_code, time.monotonic() - started
    )
    if old_api:
        return _check_old_api(resp, data, url)
    if 200 <= resp.status_code < 300:
        return data
    raise _error(resp.status_code, data, f"{method} {_short(url)}")


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {"message": resp.text[:200]}
    return data if isinstance(data, dict) else {"result": data}


def _short(url: str) -> str:
    return url.split("?", 1)[0]


def _error(status: int, data: dict[str, Any], what: str) -> ApiError:
    code = str(data.get("code") or "")
    message = f"{what}: HTTP {status} {code} {data.get('message') or ''}".strip()
    if code in QPS_CODES or status == 429:
        return ApiError(message, status=status, code=code or "429", retry_after=1.0)
    if code == MONTHLY_QUOTA:
        return ApiError(message, status=status, code=code, retry_after=3600.0)
    if code == BAD_CREDENTIALS:  # a config mistake: keep the messages until it is fixed
        return ApiError(message, status=status, code=code, retry_after=300.0)
    if code == INVALID_TOKEN or status >= 500 or status in (401, 408):
        return ApiError(message, status=status, code=code)
    return ApiError(message, status=status, code=code, retryable=False)


def _check_old_api(resp: requests.Response, data: dict[str, Any], url: str) -> dict[str, Any]:
    if resp.status_code >= 500:
        raise ApiError(f"webhook: HTTP {resp.status_code}", status=resp.status_code)
    errcode = data.get("errcode")
    if resp.status_code == 200 and errcode in (0, None):
        return data
    raise ApiError(
        f"webhook: HTTP {resp.status_code} errcode {errcode} {data.get('errmsg') or ''}".strip(),
        status=resp.status_code,
        code=str(errcode),
        retryable=False,
    )
