"""The /cgi-bin/ REST layer: logging, latency, injected faults, token check, dispatch."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.simulators.wecom import errors
from bot.simulators.wecom.agent import AgentState
from bot.simulators.wecom.errors import ApiError
from bot.simulators.wecom.kf import KfState
from bot.simulators.wecom.support import FaultPlan, MediaStore, TokenStore, normalize_path

_UNICODE_ESCAPE = re.compile(rb"(?<!\\)\\u[0-9a-fA-F]{4}")
_SECRET_ARGS = {"access_token", "corpsecret"}
JsonHandler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class ApiRequest:
    """One /cgi-bin/ request, already taken apart by the HTTP layer."""

    method: str
    path: str
    args: dict[str, str]
    raw: bytes = b""
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


@dataclass
class ApiResponse:
    """What the HTTP layer should answer."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(data: dict[str, Any], status: int = 200) -> ApiResponse:
    """UTF-8 JSON (no \\u escapes, as WeCom answers)."""
    return ApiResponse(status, json.dumps(data, ensure_ascii=False).encode("utf-8"))


class CgiBinApi:
    """Answers /cgi-bin/ calls against the simulator's state, under the simulator's lock."""

    def __init__(
        self,
        *,
        lock: threading.RLock,
        tokens: TokenStore,
        media: MediaStore,
        faults: FaultPlan,
        kf: KfState,
        agent: AgentState,
    ) -> None:
        self._lock = lock
        self.tokens = tokens
        self.media = media
        self.faults = faults
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._routes: dict[str, tuple[str, Callable[[ApiRequest], ApiResponse]]] = {
            "gettoken": ("GET", self._gettoken),
            "media/upload": ("POST", self._media_upload),
            "media/get": ("GET", self._media_get),
            "message/send": ("POST", self._json(agent.message_send)),
            "message/update_template_card": ("POST", self._json(agent.update_template_card)),
            "kf/sync_msg": ("POST", self._json(kf.sync_msg)),
            "kf/send_msg": ("POST", self._json(kf.send_msg)),
            "kf/send_msg_on_event": ("POST", self._json(kf.send_msg_on_event)),
            "kf/add_contact_way": ("POST", self._json(kf.add_contact_way)),
            "kf/service_state/get": ("POST", self._json(kf.service_state_get)),
            "kf/service_state/trans": ("POST", self._json(kf.service_state_trans)),
            "kf/account/list": ("POST", self._json(kf.account_list)),
            "kf/customer/batchget": ("POST", self._json(kf.customer_batchget)),
        }

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one /cgi-bin/ call: log, latency, injected faults, token check, handler."""
        path = normalize_path(request.path)
        with self._lock:
            self.calls.append((path, _logged_body(request)))
        delay = self.faults.latency(path)
        if delay > 0:
            time.sleep(delay)  # injected network latency is real time on purpose
        status = self.faults.take_status(path)
        if status is not None:
            page = f"<html><body><h1>{status}</h1></body></html>".encode()
            return ApiResponse(status, page, "text/html; charset=utf-8")
        route = self._routes.get(path)
        if route is None:
            return json_response({"errcode": 404, "errmsg": f"no such api: {path}"}, 404)
        method, handler = route
        if request.method != method:
            return json_response({"errcode": 405, "errmsg": f"use {method}"}, 405)
        injected = self.faults.take_errcode(path)
        if injected is not None:
            return json_response(ApiError(injected).body())
        try:
            with self._lock:
                if path != "gettoken":
                    self.tokens.check(request.args.get("access_token"))
                return handler(request)
        except ApiError as exc:
            return json_response(exc.body())

    def _json(self, handler: JsonHandler) -> Callable[[ApiRequest], ApiResponse]:
        def run(request: ApiRequest) -> ApiResponse:
            if _UNICODE_ESCAPE.search(request.raw):
                raise ApiError(errors.INVALID_UNICODE_ESCAPE, "invalid charset: \\uxxxx escapes")
            try:
                body = json.loads(request.raw.decode("utf-8") or "{}")
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ApiError(errors.BAD_JSON, "Warning: wrong json format.") from exc
            if not isinstance(body, dict):
                raise ApiError(errors.BAD_JSON, "Warning: wrong json format.")
            return json_response(handler(body))

        return run

    def _gettoken(self, request: ApiRequest) -> ApiResponse:
        return json_response(
            self.tokens.issue(request.args.get("corpid"), request.args.get("corpsecret"))
        )

    def _media_upload(self, request: ApiRequest) -> ApiResponse:
        filename, data = request.files.get("media", ("", b""))
        media = self.media.put(request.args.get("type", ""), data, filename)
        return json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": media.type,
                "media_id": media.media_id,
                "created_at": str(int(media.created_at)),
            }
        )

    def _media_get(self, request: ApiRequest) -> ApiResponse:
        media = self.media.get(request.args.get("media_id"))
        disposition = f'attachment; filename="{media.filename}"'
        return ApiResponse(
            200, media.data, media.content_type, {"Content-Disposition": disposition}
        )


def _logged_body(request: ApiRequest) -> dict[str, Any]:
    if request.files:
        return {
            **{k: v for k, v in request.args.items() if k not in _SECRET_ARGS},
            **{name: {"filename": f, "size": len(d)} for name, (f, d) in request.files.items()},
        }
    if request.method == "GET" or not request.raw:
        return {k: v for k, v in request.args.items() if k not in _SECRET_ARGS}
    try:
        body = json.loads(request.raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"_raw": request.raw.decode("utf-8", errors="replace")}
    return body if isinstance(body, dict) else {"_raw": body}
