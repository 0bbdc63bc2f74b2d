"""The /sandbox page and its JSON API (mounted only in sandbox mode).

Every action of the page is forwarded to a simulator's /_sim/ control route; the simulator
then talks to lianxin exactly as WeCom or DingTalk would. The API reads the directory (to offer
stations, QR codes and identities) and the service clock, and writes two things itself: the
sandbox clock offset of 快进一个工作日, and 重置沙盒 (bot.sandbox.demo), which starts a fresh demo.
Message times are sent to the page already in service time, with their date.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import re
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests
from flask import Blueprint, Response, jsonify, request, send_file, send_from_directory
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.queue import PERIODIC_QUEUE
from bot.runtime import CLOCK_OFFSET_KEY, Runtime, clock_offset
from bot.sandbox import common, demo
from bot.sandbox.common import SimEndpoints, department_user_id, department_user_name
from bot.wecom.qrcode import BUNDLED_FONT
from handlers import texts
from storage.models import (
    Department,
    Deputy,
    DeputyStation,
    KeyValue,
    Region,
    SceneCode,
    Staff,
    Station,
)

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
SIM_TIMEOUT = 10.0
PHONE_LOG_TTL = 7 * 86400
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_BYTES = 4 * MAX_IMAGE_BYTES  # base64 and JSON around the picture
MAX_STORED_IMAGE = 256 * 1024  # larger pictures show as 「[图片]」 in the phone history
WEEKDAYS = "一二三四五六日"
_VISITOR_RE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_USER_RE = re.compile(r"^[0-9A-Za-z_.@-]{1,128}$")
_CONVERSATION_RE = re.compile(r"^[0-9A-Za-z_+/=.-]{1,160}$")


class ApiProblem(Exception):
    """A request the page should explain to the person using it (status, Chinese message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class QuietPolls(logging.Filter):
    """Drops the access-log line of the page's once-a-second poll from the console."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for werkzeug's line about GET /sandbox/api/poll."""
        return "/sandbox/api/poll" not in record.getMessage()


def blueprint(rt: Runtime, endpoints: SimEndpoints | None = None) -> Blueprint:
    """The sandbox page and API; simulator addresses default to what `lianxin run` exported."""
    api = SandboxApi(rt, endpoints or SimEndpoints.from_env())
    access_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, QuietPolls) for f in access_log.filters):
        access_log.addFilter(QuietPolls())
    bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

    @bp.get("")
    @bp.get("/")
    def page() -> Response:
        response = send_from_directory(STATIC_DIR, "index.html", max_age=0)
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/static/font.ttf")
    def font() -> Response:
        # the CJK font lianxin ships, for browsers without one (headless Chromium on a server)
        response = send_file(BUNDLED_FONT, mimetype="font/ttf", max_age=86400)
        return response

    @bp.get("/static/<path:name>")
    def static(name: str) -> Response:
        response = send_from_directory(STATIC_DIR, name, max_age=0)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @bp.before_request
    def _allow_pictures() -> None:
        if request.endpoint == "sandbox.wechat_image":
            request.max_content_length = MAX_UPLOAD_BYTES

    @bp.errorhandler(ApiProblem)
    def _problem(exc: ApiProblem) -> tuple[Response, int]:
        return jsonify(error=exc.message), exc.status

    @bp.get("/api/config")
    def config() -> Response:
        return jsonify(api.config())

    @bp.get("/api/poll")
    def poll() -> Response:
        return jsonify(api.poll(request.args))

    @bp.post("/api/wechat/enter")
    def wechat_enter() -> Response:
        return jsonify(api.wechat_enter(_body()))

    @bp.post("/api/wechat/text")
    def wechat_text() -> Response:
        return jsonify(api.wechat_text(_body()))

    @bp.post("/api/wechat/menu")
    def wechat_menu() -> Response:
        return jsonify(api.wechat_menu(_body()))

    @bp.post("/api/wechat/image")
    def wechat_image() -> Response:
        return jsonify(api.wechat_image(_body()))

    @bp.post("/api/wechat/location")
    def wechat_location() -> Response:
        return jsonify(api.wechat_location(_body()))

    @bp.post("/api/dingtalk/group-text")
    def dingtalk_group_text() -> Response:
        return jsonify(api.dingtalk_group_text(_body()))

    @bp.post("/api/dingtalk/private-text")
    def dingtalk_private_text() -> Response:
        return jsonify(api.dingtalk_private_text(_body()))

    @bp.post("/api/dingtalk/click")
    def dingtalk_click() -> Response:
        return jsonify(api.dingtalk_click(_body()))

    @bp.get("/api/dingtalk/media")
    def dingtalk_media() -> Response:
        data, mime = api.sims.media(request.args.get("id", ""))
        return Response(data, mimetype=mime, headers={"Cache-Control": "max-age=3600"})

    @bp.get("/api/clock")
    def clock() -> Response:
        return jsonify(api.clock())

    @bp.post("/api/fast-forward")
    def fast_forward() -> Response:
        return jsonify(api.fast_forward())

    @bp.post("/api/reset")
    def reset() -> Response:
        return jsonify(api.reset())

    return bp


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiProblem(400, "请求格式不正确（需要 JSON 对象）")
    return body


def _str(body: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiProblem(400, f"缺少参数 {key}")
    if pattern is not None and not pattern.match(value):
        raise ApiProblem(400, f"参数 {key} 不正确")
    return value


class SimClient:
    """JSON over HTTP to the simulators' /_sim/ routes, with Chinese errors for the page."""

    def __init__(self, endpoints: SimEndpoints | None) -> None:
        self.endpoints = endpoints

    def call(self, which: str, method: str, path: str, body: Any = None) -> Any:
        """One control call; raises ApiProblem with the simulator's reason when it refuses."""
        if self.endpoints is None:
            raise ApiProblem(503, "模拟器没有运行：沙盒需要用 `lianxin run`（或 `make run`）启动。")
        base = self.endpoints.wecom if which == "wecom" else self.endpoints.dingtalk
        try:
            resp = requests.request(method, base + path, json=body, timeout=SIM_TIMEOUT)
        except requests.RequestException as exc:
            log.warning("sandbox: %s simulator unreachable: %s", which, exc)
            raise ApiProblem(502, "模拟器没有响应，请确认 lianxin run 仍在运行。") from None
        try:
            data = resp.json()
        except ValueError:
            data = {"error": resp.text[:200]}
        if resp.status_code >= 400:
            raise ApiProblem(400, _explain(str(data.get("error", resp.status_code))))
        return data

    def media(self, media_id: str) -> tuple[bytes, str]:
        """A file uploaded to the DingTalk simulator (a photo shown under a card)."""
        if self.endpoints is None:
            raise ApiProblem(503, "模拟器没有运行：沙盒需要用 `lianxin run`（或 `make run`）启动。")
        if not _MEDIA_RE.match(media_id):
            raise ApiProblem(400, "媒体编号不正确")
        url = self.endpoints.dingtalk + "media/" + quote(media_id, safe="")
        try:
            resp = requests.get(url, timeout=SIM_TIMEOUT)
        except requests.RequestException:
            raise ApiProblem(502, "模拟器没有响应，请确认 lianxin run 仍在运行。") from None
        if resp.status_code != 200:
            raise ApiProblem(404, "没有这个图片或文件")
        return resp.content, resp.headers.get("Content-Type", "application/octet-stream")


_MEDIA_RE = re.compile(r"^@[0-9A-Za-z_-]{4,64}$")


def _explain(error: str) -> str:
    if "is not a member" in error:
        return "当前身份不在这个群里，请换一个身份。"
    if "cannot see card" in error:
        return "当前身份看不到这张卡片，请换一个身份。"
    if "unknown user" in error:
        return "钉钉模拟器里没有这个人（目录刚导入？请稍候几秒再试）。"
    if "unknown group" in error:
        return "钉钉模拟器里没有这个群（目录刚导入？请稍候几秒再试）。"
    if "never shown a menu item" in error:
        return "这个菜单项已经失效了。"
    return f"模拟器拒绝了这个操作：{error}"


class SandboxApi:
    """What the page can do; one instance per web process."""

    def __init__(self, rt: Runtime, endpoints: SimEndpoints | None) -> None:
        self.rt = rt
        self.endpoints = endpoints
        self.sims = SimClient(endpoints)
        self._contact_urls: dict[str, str] = {}
        self._qr_images: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- directory for the page ----------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """Stations with their QR codes, identities, groups, places and the card template."""
        with self.rt.sessions() as session:
            stations = _stations(session)
            people = _people(session)
            groups = _groups(session)
        if self.endpoints is not None:
            for station in stations:
                for scene in station["scenes"]:
                    scene["url"] = self._contact_url(scene["scene"], scene["plate"] or "")
                    scene["qr"] = self._qr(scene["url"])
        return {
            "available": self.endpoints is not None,
            "visitor": self.endpoints.visitor if self.endpoints else "wmSandboxVisitor",
            "stations": stations,
            "people": people,
            "groups": groups,
            "places": _places(stations),
            "card_template": _card_template(),
            # every shipped template by the id the sandbox configures (cards carry it)
            "card_templates": {
                common.DINGTALK_CARD_TEMPLATE_ID: _card_template(),
                common.DINGTALK_SOLICIT_TEMPLATE_ID: _card_template("solicit_card"),
            },
            "clock": self.clock(),
        }

    def _contact_url(self, scene: str, plate: str) -> str:
        # one kf link per scene, issued by the simulator as kf/add_contact_way would
        with self._lock:
            url = self._contact_urls.get(scene)
        if url is None:
            url = str(self.sims.call("wecom", "POST", "contact_url", {"scene": scene})["url"])
            with self._lock:
                url = self._contact_urls.setdefault(scene, url)
        if plate:
            url += ("&" if "?" in url else "?") + "scene_param=" + quote(plate, safe="")
        return url

    def _qr(self, url: str) -> str:
        with self._lock:
            found = self._qr_images.get(url)
        if found is None:
            found = _qr_data_uri(url)
            with self._lock:
                self._qr_images[url] = found
        return found

    # -- the WeChat side -----------------------------------------------------------------

    def wechat_enter(self, body: dict[str, Any]) -> dict[str, Any]:
        """Open the kf chat through a QR link (or without a scene)."""
        visitor = _str(body, "visitor", _VISITOR_RE)
        url = body.get("url") if isinstance(body.get("url"), str) else ""
        label = str(body.get("label") or "")[:80]
        anchor = len(self._seen(visitor))
        self.sims.call("wecom", "POST", "user/enter", {"external_userid": visitor, "url": url})
        self._remember(visitor, anchor, {"kind": "enter", "text": label})
        return {"ok": True}

    def wechat_text(self, body: dict[str, Any]) -> dict[str, Any]:
        """The WeChat user sends a text."""
        visitor = _str(body, "visitor", _VISITOR_RE)
        text = _str(body, "text").strip()[:2000]
        anchor = len(self._seen(visitor))
        sent = self.sims.call(
            "wecom", "POST", "user/text", {"external_userid": visitor, "text": text}
        )
        self._remember(visitor, anchor, {"kind": "text", "text": text})
        return {"ok": True, "msgid": sent.get("msgid")}

    def wechat_menu(self, body: dict[str, Any]) -> dict[str, Any]:
        """The WeChat user taps an item of a menu they were shown."""
        visitor = _str(body, "visitor", _VISITOR_RE)
        menu_id = _str(body, "menu_id")
        seen = self._seen(visitor)
        content = _menu_content(seen, menu_id)
        sent = self.sims.call(
            "wecom", "POST", "user/menu", {"external_userid": visitor, "menu_id": menu_id}
        )
        self._remember(visitor, len(seen), {"kind": "text", "text": content})
        return {"ok": True, "msgid": sent.get("msgid")}

    def wechat_image(self, body: dict[str, Any]) -> dict[str, Any]:
        """The WeChat user sends a picture (the page's, or the sample photo)."""
        visitor = _str(body, "visitor", _VISITOR_RE)
        data, mime = _picture(body.get("data"))
        anchor = len(self._seen(visitor))
        sent = self.sims.call(
            "wecom",
            "POST",
            "user/image",
            {"external_userid": visitor, "data": base64.b64encode(data).decode()},
        )
        shown = (
            f"data:{mime};base64,{base64.b64encode(data).decode()}"
            if len(data) <= MAX_STORED_IMAGE
            else ""
        )
        self._remember(visitor, anchor, {"kind": "image", "image": shown})
        return {"ok": True, "msgid": sent.get("msgid")}

    def wechat_location(self, body: dict[str, Any]) -> dict[str, Any]:
        """The WeChat user shares a location."""
        visitor = _str(body, "visitor", _VISITOR_RE)
        try:
            lat, lng = float(body["lat"]), float(body["lng"])
        except (KeyError, TypeError, ValueError):
            raise ApiProblem(400, "位置需要经纬度") from None
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ApiProblem(400, "经纬度超出范围")
        name = str(body.get("name") or "")[:100]
        address = str(body.get("address") or "")[:200]
        anchor = len(self._seen(visitor))
        sent = self.sims.call(
            "wecom",
            "POST",
            "user/location",
            {"external_userid": visitor, "lat": lat, "lng": lng, "name": name, "address": address},
        )
        entry = {"kind": "location", "text": name, "address": address, "lat": lat, "lng": lng}
        self._remember(visitor, anchor, entry)
        return {"ok": True, "msgid": sent.get("msgid")}

    def _seen(self, visitor: str) -> list[dict[str, Any]]:
        data = self.sims.call("wecom", "GET", f"user/{quote(visitor, safe='')}/seen")
        return list(data.get("messages") or [])

    def _phone_key(self, visitor: str) -> str:
        return f"{self.rt.settings.redis.queue_prefix}:sandbox:phone:{visitor}"

    def _remember(self, visitor: str, anchor: int, entry: dict[str, Any]) -> None:
        # The simulator keeps what the user received; what they sent is kept here, anchored
        # to how many received messages were on screen, so the page can interleave both.
        record = {"anchor": anchor, "time": time.time(), **entry}
        key = self._phone_key(visitor)
        try:
            self.rt.redis.rpush(key, json.dumps(record, ensure_ascii=False))
            self.rt.redis.expire(key, PHONE_LOG_TTL)
        except Exception as exc:  # the action went out; only the page's echo is missing
            log.warning("sandbox: could not keep the phone history: %s", exc)

    def phone(self, visitor: str) -> list[dict[str, Any]]:
        """The WeChat chat as the user sees it: their messages and the kf account's."""
        try:
            raw = self.rt.redis.lrange(self._phone_key(visitor), 0, -1)
        except Exception as exc:
            log.warning("sandbox: could not read the phone history: %s", exc)
            raw = []
        mine = [json.loads(r) for r in raw]
        return interleave(self._seen(visitor), mine)

    # -- the DingTalk side ---------------------------------------------------------------

    def dingtalk_group_text(self, body: dict[str, Any]) -> dict[str, Any]:
        """A deputy or staff member writes in a group, @-mentioning the bot."""
        payload = {
            "user_id": _str(body, "user_id", _USER_RE),
            "conversation_id": _str(body, "conversation_id", _CONVERSATION_RE),
            "text": _str(body, "text").strip()[:2000],
        }
        return dict(self.sims.call("dingtalk", "POST", "user/group_text", payload))

    def dingtalk_private_text(self, body: dict[str, Any]) -> dict[str, Any]:
        """A deputy or staff member writes to the bot 1:1."""
        payload = {
            "user_id": _str(body, "user_id", _USER_RE),
            "text": _str(body, "text").strip()[:2000],
        }
        return dict(self.sims.call("dingtalk", "POST", "user/private_text", payload))

    def dingtalk_click(self, body: dict[str, Any]) -> dict[str, Any]:
        """A card button pressed by the current identity (Stream card callback)."""
        params = body.get("params") or {}
        if not isinstance(params, dict):
            raise ApiProblem(400, "参数 params 不正确")
        payload = {
            "user_id": _str(body, "user_id", _USER_RE),
            "out_track_id": _str(body, "out_track_id"),
            "params": {str(k): str(v) for k, v in params.items()},
            "action_id": str(body.get("action_id") or "btn"),
        }
        return dict(self.sims.call("dingtalk", "POST", "user/click", payload))

    def _group(self, conversation_id: str) -> dict[str, Any]:
        path = f"group/{quote(conversation_id, safe='')}"
        return dict(self.sims.call("dingtalk", "GET", path))

    def _private(self, user_id: str) -> dict[str, Any]:
        return dict(self.sims.call("dingtalk", "GET", f"user/{quote(user_id, safe='')}"))

    # -- everything the page shows, in one request -----------------------------------------

    def poll(self, args: Any) -> dict[str, Any]:
        """The phone, the chosen group, 1:1 chats and the office group, plus the clock."""
        out: dict[str, Any] = {"clock": self.clock()}
        views: dict[str, tuple[re.Pattern[str], Any]] = {
            "phone": (_VISITOR_RE, self.phone),
            "group": (_CONVERSATION_RE, self._group),
            "me": (_USER_RE, self._private),
            "staff": (_USER_RE, self._private),
            "office": (_CONVERSATION_RE, self._group),
        }
        for name, (pattern, fetch) in views.items():
            value = args.get(name, "")
            if not value:
                continue
            if not pattern.match(value):
                out[name] = {"error": f"参数 {name} 不正确"}
                continue
            try:
                out[name] = fetch(value)
            except ApiProblem as exc:
                out[name] = {"error": exc.message}
        out["status"] = self._status()
        self._label_times(out)
        return out

    def _label_times(self, out: dict[str, Any]) -> None:
        """Give every message its service time with date (the page never uses its own clock)."""
        tz = ZoneInfo(self.rt.settings.sla.timezone)
        with self.rt.sessions() as session:
            history = demo.clock_history(session)
        phone = out.get("phone")
        if isinstance(phone, list):
            for item in phone:  # what the user sent: "time"; what the kf sent: "send_time"
                key = "time" if item.get("from") == "me" else "send_time"
                demo.label_messages([item], history, tz, key=key, scale=1)
        for name in ("group", "me", "staff", "office"):
            demo.label_messages(out.get(name), history, tz, key="time", scale=1000)

    def reset(self) -> dict[str, Any]:
        """重置沙盒: cases and chats gone, the example county and the real clock back."""
        from bot.examples import DIRECTORY

        if self.endpoints is None:
            raise ApiProblem(409, "沙盒没有连上模拟器，无法重置。请用 `lianxin run` 启动。")
        demo.reset(
            self.rt,
            DIRECTORY,
            lambda: self.sims.call("dingtalk", "POST", "clear_chats", {}),
        )
        return {"ok": True, "clock": self.clock()}

    def _status(self) -> dict[str, Any]:
        try:
            ding = self.sims.call("dingtalk", "GET", "state")
        except ApiProblem as exc:
            return {"error": exc.message}
        return {"stream_connections": ding.get("connections", 0)}

    # -- the service clock ---------------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        """The service clock as the page shows it."""
        with self.rt.sessions() as session:
            offset = clock_offset(session)
        return clock_view(offset, ZoneInfo(self.rt.settings.sla.timezone))

    def fast_forward(self) -> dict[str, Any]:
        """Advance the service clock by one working day, then run the escalation ladder now."""
        from bot.pipeline import periodic
        from bot.pipeline.context import handler_context

        with self.rt.sessions.begin() as session:
            now = self.rt.now(session)
            calendar = handler_context(self.rt, session).calendar
            target = calendar.add_working_days(now, 1)
            offset = clock_offset(session) + (target - now).total_seconds()
            row = session.get(KeyValue, CLOCK_OFFSET_KEY)
            if row is None:
                session.add(KeyValue(key=CLOCK_OFFSET_KEY, value=repr(offset)))
            else:
                row.value = repr(offset)
            demo.record_offset(session, offset)  # earlier messages keep their service times
        queue = self.rt.queue(PERIODIC_QUEUE)
        try:
            queue.enqueue(periodic.run_escalations, result_ttl=60)
            queue.enqueue(periodic.expire_ratings, result_ttl=60)
        except Exception as exc:  # the scheduler runs them within a minute anyway
            log.warning("sandbox: escalation not enqueued: %s", exc)
        log.info("sandbox: service clock moved to %s (offset %.0fs)", target.isoformat(), offset)
        return self.clock()


# ---------------------------------------------------------------- pure helpers


def clock_view(offset: float, tz: ZoneInfo) -> dict[str, Any]:
    """The service clock (wall time + offset) as ISO, a Chinese label and the lead it has."""
    now = datetime.now(UTC) + timedelta(seconds=offset)
    local = now.astimezone(tz)
    label = f"{local.month}月{local.day}日 周{WEEKDAYS[local.weekday()]} {local:%H:%M}"
    return {
        "now": now.isoformat(),
        "label": label,
        "offset_seconds": offset,
        "offset_label": lead_label(offset),
    }


def lead_label(offset: float) -> str:
    """「快 1天8小时」 for a positive offset, 「与实际时间一致」 for none."""
    if offset < 60:
        return "与实际时间一致"
    days, rest = divmod(int(offset), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else ""]
    if not days and not hours:
        parts.append(f"{minutes}分钟")
    return "比实际时间快 " + "".join(parts)


def interleave(seen: list[dict[str, Any]], mine: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Received messages in order, each of the user's own placed before its anchor."""
    by_anchor: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in mine:
        by_anchor[min(int(entry.get("anchor", 0)), len(seen))].append(entry)
    out: list[dict[str, Any]] = []
    for i, message in enumerate(seen):
        out.extend({"from": "me", **e} for e in by_anchor.pop(i, []))
        out.append({"from": "kf", **message})
    out.extend({"from": "me", **e} for e in by_anchor.pop(len(seen), []))
    return out


def _menu_content(seen: list[dict[str, Any]], menu_id: str) -> str:
    for message in reversed(seen):
        for item in (message.get("msgmenu") or {}).get("list", []):
            click = item.get("click") or {}
            if item.get("type") == "click" and click.get("id") == menu_id:
                return str(click.get("content", ""))
    raise ApiProblem(400, "这个菜单项已经失效了。")


def _picture(data: Any) -> tuple[bytes, str]:
    if not data:
        return sample_photo(), "image/jpeg"
    if not isinstance(data, str):
        raise ApiProblem(400, "图片格式不正确")
    mime = "image/jpeg"
    if data.startswith("data:"):
        head, _, data = data.partition(",")
        mime = head[5:].split(";")[0] or mime
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise ApiProblem(400, "图片需要 base64 编码") from None
    if not raw or len(raw) > MAX_IMAGE_BYTES:
        raise ApiProblem(400, "图片为空或超过 2MB")
    return raw, mime


_sample: bytes | None = None


def sample_photo() -> bytes:
    """A small drawn photo of a street lamp that is out (JPEG), for the 📷 button."""
    global _sample
    if _sample is None:
        from PIL import Image, ImageDraw

        img = Image.new("RGB", (240, 180), (38, 52, 84))
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 140, 240, 180), fill=(70, 72, 76))
        draw.rectangle((0, 128, 240, 140), fill=(120, 120, 116))
        for x in range(10, 240, 46):
            draw.rectangle((x, 157, x + 24, 161), fill=(220, 220, 210))
        draw.rectangle((104, 40, 112, 140), fill=(90, 96, 104))
        draw.line((108, 44, 150, 44), fill=(90, 96, 104), width=6)
        draw.polygon([(138, 46), (164, 46), (158, 60), (144, 60)], fill=(60, 64, 70))
        draw.ellipse((146, 58, 156, 66), fill=(80, 80, 80))
        for x, y in ((30, 30), (200, 24), (60, 70), (186, 90), (20, 96)):
            draw.ellipse((x, y, x + 3, y + 3), fill=(230, 230, 200))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=80)
        _sample = buf.getvalue()
    return _sample


def _qr_data_uri(url: str) -> str:
    import qrcode

    img = qrcode.make(url, box_size=3, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _card_template(name: str = "case_card") -> dict[str, Any] | None:
    # The DingTalk adapter ships the card templates; the page renders cards from them.
    path = Path(__file__).resolve().parents[1] / "dingtalk" / f"{name}.template.json"
    try:
        spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return spec


def _stations(session: Session) -> list[dict[str, Any]]:
    regions = {r.id: r.name for r in session.scalars(select(Region))}
    scenes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for sc in session.scalars(select(SceneCode).order_by(SceneCode.id)):
        scenes[sc.station_id].append({"scene": sc.scene, "plate": sc.plate or ""})
    return [
        {
            "code": st.code,
            "name": st.name,
            "region": regions.get(st.region_id, ""),
            "address": st.address or "",
            "lat": st.lat,
            "lng": st.lng,
            "group": st.dingtalk_group_id or "",
            "scenes": scenes.get(st.id, []),
        }
        for st in session.scalars(select(Station).order_by(Station.id))
    ]


def _people(session: Session) -> list[dict[str, Any]]:
    stations = {s.id: s.code for s in session.scalars(select(Station))}
    regions = {r.id: r.name for r in session.scalars(select(Region))}
    memberships: dict[int, list[str]] = defaultdict(list)
    for link in session.scalars(select(DeputyStation)):
        memberships[link.deputy_id].append(stations.get(link.station_id, ""))
    people: list[dict[str, Any]] = [
        {
            "user_id": d.dingtalk_user_id,
            "name": d.name,
            "role": "deputy",
            "label": f"{d.name}（代表）",
            "stations": sorted(memberships.get(d.id, [])),
        }
        for d in session.scalars(select(Deputy).where(Deputy.active).order_by(Deputy.id))
    ]
    for s in session.scalars(select(Staff).order_by(Staff.id)):
        if not s.dingtalk_user_id:
            continue
        where = stations.get(s.station_id, "") if s.station_id else ""
        people.append(
            {
                "user_id": s.dingtalk_user_id,
                "name": s.name,
                "role": "staff",
                "label": f"{s.name}（{regions.get(s.region_id, '')}工作人员）",
                "stations": [where] if where else [],
            }
        )
    for dept in session.scalars(select(Department).order_by(Department.id)):
        if dept.dingtalk_group_id:
            people.append(
                {
                    "user_id": department_user_id(dept.code),
                    "name": department_user_name(dept.name),
                    "role": "department",
                    "label": department_user_name(dept.name),
                    "stations": [],
                    "group": dept.dingtalk_group_id,
                }
            )
    return people


def _groups(session: Session) -> list[dict[str, Any]]:
    groups = [
        {"id": st.dingtalk_group_id, "title": st.name, "kind": "station", "station": st.code}
        for st in session.scalars(select(Station).order_by(Station.id))
        if st.dingtalk_group_id
    ]
    groups += [
        {
            "id": r.office_group_id,
            "title": texts.office_group_title(r.level, r.name),
            "kind": "office",
        }
        for r in session.scalars(select(Region).order_by(Region.id))
        if r.office_group_id
    ]
    groups += [
        {"id": d.dingtalk_group_id, "title": f"{d.name}工作群", "kind": "department"}
        for d in session.scalars(select(Department).order_by(Department.id))
        if d.dingtalk_group_id
    ]
    return groups


def _places(stations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # a few spots near each station, for the 📍 button (nearest-station matching)
    places = []
    for st in stations:
        if st["lat"] is None or st["lng"] is None:
            continue
        places.append(
            {
                "name": f"{st['region']}·{st['name']}附近",
                "address": st["address"],
                "lat": round(st["lat"] + 0.0009, 6),
                "lng": round(st["lng"] - 0.0007, 6),
            }
        )
    return places
