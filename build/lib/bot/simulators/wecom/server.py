"""Flask app of the WeCom simulator: /cgi-bin/ (the platform API) and /_sim/ (control)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request

from bot.simulators.wecom.api import ApiRequest

if TYPE_CHECKING:
    from bot.simulators.wecom.simulator import WeComSimulator

Action = Callable[[dict[str, Any]], dict[str, Any]]


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False)
    return Response(body, status=status, content_type="application/json; charset=utf-8")


def _b64(value: Any) -> bytes | None:
    if not value:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("data must be base64") from exc


def create_app(sim: WeComSimulator) -> Flask:
    """Build the WSGI app serving one simulator."""
    app = Flask("wecom_simulator")

    @app.route("/cgi-bin/<path:api>", methods=["GET", "POST"])
    def cgi_bin(api: str) -> Response:
        files: dict[str, tuple[str, bytes]] = {}
        raw = b""
        if request.mimetype == "multipart/form-data":
            files = {k: (f.filename or "", f.read()) for k, f in request.files.items()}
        else:
            raw = request.get_data()
        answer = sim.handle_api(ApiRequest(request.method, api, request.args.to_dict(), raw, files))
        return Response(
            answer.body,
            status=answer.status,
            content_type=answer.content_type,
            headers=answer.headers,
        )

    def control(action: Action) -> Callable[[], Response]:
        def view() -> Response:
            body = request.get_json(silent=True, force=True)
            if not isinstance(body, dict):
                return _json({"error": "JSON object body required"}, 400)
            try:
                return _json(action(body))
            except (KeyError, ValueError, TypeError) as exc:
                return _json({"error": f"{type(exc).__name__}: {exc}"}, 400)

        return view

    controls = _Controls(sim)
    actions: dict[str, Action] = {
        "user/enter": controls.user_enter,
        "user/text": controls.user_text,
        "user/menu": controls.user_menu,
        "user/image": controls.user_image,
        "user/voice": controls.user_voice,
        "user/location": controls.user_location,
        "member/text": controls.member_text,
        "member/click": controls.member_click,
        "advance": controls.advance,
        "contact_url": controls.contact_url,
    }
    for name, action in actions.items():
        app.add_url_rule(f"/_sim/{name}", f"sim_{name}", control(action), methods=["POST"])

    @app.get("/_sim/user/<external_userid>/seen")
    def user_seen(external_userid: str) -> Response:
        return _json({"messages": sim.seen_by(external_userid)})

    @app.get("/_sim/member/<userid>/messages")
    def member_messages(userid: str) -> Response:
        return _json({"messages": sim.app_messages_to(userid)})

    @app.get("/_sim/state")
    def state() -> Response:
        deliveries = [
            {"kind": d.kind, "statuses": d.statuses, "reply_error": d.reply_error}
            for d in list(sim.deliveries)
        ]
        return _json({"now": sim.now(), "callback_url": sim.callback_url, "deliveries": deliveries})

    return app


class _Controls:
    """The /_sim/ POST actions: thin JSON wrappers over the simulator's Python methods."""

    def __init__(self, sim: WeComSimulator) -> None:
        self.sim = sim

    def user_enter(self, b: dict[str, Any]) -> dict[str, Any]:
        scene = str(b.get("url") or b.get("scene") or "")
        code = self.sim.user_enter(
            b["external_userid"], scene, str(b.get("scene_param") or ""), wait=_wait(b)
        )
        return {"welcome_code": code}

    def user_text(self, b: dict[str, Any]) -> dict[str, Any]:
        menu_id = b.get("menu_id")
        msgid = self.sim.user_text(b["external_userid"], str(b["text"]), menu_id, wait=_wait(b))
        return {"msgid": msgid}

    def user_menu(self, b: dict[str, Any]) -> dict[str, Any]:
        msgid = self.sim.user_click_menu(b["external_userid"], str(b["menu_id"]), wait=_wait(b))
        return {"msgid": msgid}

    def user_image(self, b: dict[str, Any]) -> dict[str, Any]:
        data = _b64(b.get("data"))
        if data is None:
            return {"msgid": self.sim.user_image(b["external_userid"], wait=_wait(b))}
        return {"msgid": self.sim.user_image(b["external_userid"], data, wait=_wait(b))}

    def user_voice(self, b: dict[str, Any]) -> dict[str, Any]:
        data = _b64(b.get("data"))
        if data is None:
            return {"msgid": self.sim.user_voice(b["external_userid"], wait=_wait(b))}
        return {"msgid": self.sim.user_voice(b["external_userid"], data, wait=_wait(b))}

    def user_location(self, b: dict[str, Any]) -> dict[str, Any]:
        msgid = self.sim.user_location(
            b["external_userid"],
            float(b["lat"]),
            float(b["lng"]),
            str(b.get("name") or ""),
            str(b.get("address") or ""),
            wait=_wait(b),
        )
        return {"msgid": msgid}

    def member_text(self, b: dict[str, Any]) -> dict[str, Any]:
        self.sim.member_text(b["userid"], str(b["text"]), wait=_wait(b))
        return {"ok": True}

    def member_click(self, b: dict[str, Any]) -> dict[str, Any]:
        self.sim.member_click_card(
            b["userid"], str(b["task_id"]), str(b["event_key"]), wait=_wait(b)
        )
        return {"ok": True}

    def advance(self, b: dict[str, Any]) -> dict[str, Any]:
        self.sim.advance(float(b["seconds"]))
        return {"ok": True, "now": self.sim.now()}

    def contact_url(self, b: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.sim.contact_url(str(b.get("scene") or ""))}


def _wait(body: dict[str, Any]) -> bool:
    return bool(body.get("wait", False))
