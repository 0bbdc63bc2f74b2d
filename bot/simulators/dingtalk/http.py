"""The simulator's aiohttp application: OpenAPI, the Stream websocket, sessionWebhook and the
JSON control routes under `/_sim/` (one implementation, shared with the Python API)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from bot.simulators.dingtalk import errors
from bot.simulators.dingtalk.core import SimCore
from bot.simulators.dingtalk.errors import ApiError, bad_request
from bot.simulators.dingtalk.login import LoginFlows

Op = Callable[[dict[str, Any]], dict[str, Any]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _read_json(request: web.Request) -> tuple[Any, bool]:
    """(parsed body, ok); an empty body reads as {}."""
    raw = await request.read()
    if not raw.strip():
        return {}, True
    try:
        return json.loads(raw), True
    except ValueError:
        return {"_raw": raw.decode(errors="replace")}, False


def _xml(result: dict[str, str]) -> web.Response:
    fields = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in result.items())
    return web.Response(
        text=f"<OpenConnectionResponse>{fields}</OpenConnectionResponse>",
        content_type="application/xml",
    )


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


class SimApp:
    """Builds the aiohttp routes around one SimCore."""

    def __init__(self, core: SimCore) -> None:
        self.core = core

    def build(self) -> web.Application:
        """The application with every route."""
        app = web.Application()
        c = self.core
        api: list[tuple[str, str, Op, bool]] = [
            ("POST", "/v1.0/robot/oToMessages/batchSend", c.batch_send, True),
            ("POST", "/v1.0/robot/otoMessages/batchRecall", c.recall, True),
            ("POST", "/v1.0/robot/groupMessages/send", c.group_send, True),
            ("POST", "/v1.0/robot/groupMessages/recall", c.recall, True),
            ("POST", "/v1.0/robot/messageFiles/download", c.download, True),
            ("POST", "/v1.0/card/instances/createAndDeliver", c.create_and_deliver, True),
            ("POST", "/v1.0/card/instances/deliver", c.deliver_card, True),
            ("POST", "/v1.0/card/instances", c.create_card, True),
            ("PUT", "/v1.0/card/instances", c.update_card, True),
            ("PUT", "/v1.0/card/streaming", c.stream_card, True),
            ("POST", "/v1.0/oauth2/accessToken", self._token, False),
        ]
        for method, path, op, auth in api:
            app.router.add_route(method, path, self._api(op, auth=auth))
        LoginFlows(c).add_routes(app)  # user login (workbench): before the /v1.0 catch-all
        app.router.add_post("/v1.0/gateway/connections/open", self._open_connection)
        app.router.add_post("/robot/sendBySession", self._session_webhook)
        app.router.add_post("/media/upload", self._media_upload)
        app.router.add_get("/connect", c.gateway.handle_ws)
        app.router.add_route("*", "/v1.0/{tail:.*}", self._api(self._not_found, auth=False))
        self._add_control_routes(app)
        return app

    # -- the OpenAPI pipeline: log → latency → injection → auth → QPS → operation ----------
    async def _prelude(self, request: web.Request) -> tuple[Any, bool, web.Response | None]:
        body, ok = await _read_json(request)
        path = request.path
        self.core.calls.append((request.method, path, body if isinstance(body, dict) else {}))
        delay = self.core.faults.latency.get(path)
        if delay:
            abandon = path in self.core.faults.abandon  # as set when the request arrived
            await asyncio.sleep(delay)
            if abandon and _client_gone(request):
                # a gateway that drops a request whose client left before it was forwarded
                self.core.ctx.stats["abandoned_requests"] += 1
                return body, ok, web.Response(status=499)
        injected = self.core.faults.take(path)
        if injected is not None:
            return body, ok, web.json_response(injected.body, status=injected.status)
        return body, ok, None

    def _admit(self, path: str) -> None:
        if not self.core.limiter.admit(path):
            self.core.ctx.stats["qps_rejected"][path] += 1
            raise ApiError(403, errors.QPS_LIMIT, "应用调用该接口的QPS超过限制")

    def _api(self, op: Op, *, auth: bool) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            body, ok, early = await self._prelude(request)
            if early is not None:
                return early
            try:
                if not ok or not isinstance(body, dict):
                    raise bad_request(errors.INVALID_PARAMETER, "请求体不是合法的 JSON 对象")
                if auth:
                    self.core.tokens.check(request.headers.get("x-acs-dingtalk-access-token"))
                self._admit(request.path)
                return web.json_response(op(body))
            except ApiError as exc:
                return exc.response()

        return handle

    def _token(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.core.tokens.issue(body.get("appKey"), body.get("appSecret"))

    def _not_found(self, body: dict[str, Any]) -> dict[str, Any]:
        raise ApiError(404, errors.NOT_FOUND, "Specified api is not found in the simulator")

    async def _open_connection(self, request: web.Request) -> web.StreamResponse:
        body, ok, early = await self._prelude(request)
        if early is not None:
            return early
        try:
            if request.content_type != "application/json" or not ok or not isinstance(body, dict):
                raise bad_request(errors.INVALID_PARAMETER, "请求体必须是 application/json")
            self._admit(request.path)
            result = self.core.gateway.open(body)
        except ApiError as exc:
            return exc.response()
        # the Node SDK notes the reply is XML unless the client asks for JSON
        if "application/json" not in request.headers.get("Accept", ""):
            return _xml(result)
        return web.json_response(result)

    async def _session_webhook(self, request: web.Request) -> web.StreamResponse:
        body, ok, early = await self._prelude(request)
        if early is not None:
            return early
        result = self.core.session_send(request.query.get("session", ""), body if ok else None)
        return web.json_response(result)

    async def _media_upload(self, request: web.Request) -> web.StreamResponse:
        """The old oapi upload: multipart `media`, `type` in the query or the form."""
        from bot.simulators.dingtalk import media as m

        self.core.calls.append((request.method, request.path, dict(request.query)))
        try:
            form = await request.post()
        except ValueError:
            return web.json_response(m.error(m.MISSING_MEDIA, "请求体不是 multipart/form-data"))
        try:
            self._admit(request.path)
        except ApiError:
            return web.json_response(m.error(90018, "应用调用该接口的QPS超过限制"))
        field = form.get("media")
        part = None
        if isinstance(field, web.FileField):
            part = (field.filename, field.content_type, field.file.read())
        media_type = request.query.get("type") or str(form.get("type") or "")
        result = self.core.upload_media(request.query.get("access_token"), media_type, part)
        return web.json_response(result)

    # -- /_sim/ control routes -------------------------------------------------------------
    def _add_control_routes(self, app: web.Application) -> None:
        routes = [
            ("POST", "/_sim/user/group_text", self._c_group_text),
            ("POST", "/_sim/user/private_text", self._c_private_text),
            ("POST", "/_sim/user/picture", self._c_picture),
            ("POST", "/_sim/user/click", self._c_click),
            ("POST", "/_sim/advance", self._c_advance),
            ("POST", "/_sim/disconnect", self._c_disconnect),
            ("POST", "/_sim/clear_chats", self._c_clear_chats),
            ("GET", "/_sim/group/{cid:.+}", self._c_group),
            ("GET", "/_sim/user/{uid:.+}", self._c_user),
            ("GET", "/_sim/card/{oid:.+}", self._c_card),
            ("GET", "/_sim/state", self._c_state),
            ("GET", "/_sim/files/{key}", self._c_file),
            ("GET", "/_sim/media/{mid}", self._c_media),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._control(handler))

    @staticmethod
    def _control(
        handler: Callable[[web.Request, dict[str, Any]], Awaitable[Any]],
    ) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            body, ok = await _read_json(request) if request.can_read_body else ({}, True)
            try:
                if not ok or not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
                result = await handler(request, body)
            except (ValueError, KeyError, TypeError) as exc:
                return web.json_response({"error": str(exc)}, status=400)
            if isinstance(result, web.StreamResponse):
                return result
            return web.json_response(result)

        return handle

    async def _c_group_text(self, _: web.Request, b: dict[str, Any]) -> Any:
        mid = await self.core.group_text(b["user_id"], b["conversation_id"], b["text"])
        return {"messageId": mid}

    async def _c_private_text(self, _: web.Request, b: dict[str, Any]) -> Any:
        return {"messageId": await self.core.private_text(b["user_id"], b["text"])}

    async def _c_picture(self, _: web.Request, b: dict[str, Any]) -> Any:
        mid = await self.core.picture(b["user_id"], b.get("conversation_id"))
        return {"messageId": mid}

    async def _c_click(self, _: web.Request, b: dict[str, Any]) -> Any:
        params = b.get("params") or {}
        if not isinstance(params, dict):
            raise ValueError("params must be an object")
        response = await self.core.click(
            b["user_id"], b["out_track_id"], params, str(b.get("action_id") or "btn")
        )
        return {"response": response}

    async def _c_advance(self, _: web.Request, b: dict[str, Any]) -> Any:
        self.core.ctx.clock.advance(float(b["seconds"]))
        await self.core.gateway.tick()
        return {"now_ms": self.core.ctx.clock.now_ms()}

    async def _c_disconnect(self, _: web.Request, b: dict[str, Any]) -> Any:
        await self.core.gateway.disconnect_all(str(b.get("reason") or "connection is expired"))
        return {"ok": True}

    async def _c_clear_chats(self, _: web.Request, __: dict[str, Any]) -> Any:
        self.core.clear_chats()
        return {"ok": True}

    async def _c_group(self, request: web.Request, _: dict[str, Any]) -> Any:
        group = self.core.directory.group(request.match_info["cid"])
        return {
            "conversation_id": group.conversation_id,
            "title": group.title,
            "members": group.members,
            "messages": self.core.timeline(("group", group.conversation_id)),
        }

    async def _c_user(self, request: web.Request, _: dict[str, Any]) -> Any:
        user = self.core.directory.user(request.match_info["uid"])
        return {
            "user_id": user.user_id,
            "nick": user.nick,
            "messages": self.core.timeline(("user", user.user_id)),
        }

    async def _c_card(self, request: web.Request, _: dict[str, Any]) -> Any:
        return self.core.card_view(request.match_info["oid"])

    async def _c_state(self, _: web.Request, __: dict[str, Any]) -> Any:
        return self.core.state()

    async def _c_media(self, request: web.Request, _: dict[str, Any]) -> Any:
        media = self.core.media.get(request.match_info["mid"])
        if media is None:
            return web.Response(status=404, text="no such media")
        return web.Response(body=media.data, content_type=media.content_type)

    async def _c_file(self, request: web.Request, _: dict[str, Any]) -> Any:
        content = self.core.file_by_key(request.match_info["key"])
        if content is None:
            return web.Response(status=404, text="no such file")
        return web.Response(body=content, content_type="image/png")
