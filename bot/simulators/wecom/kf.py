"""微信客服 (kf) state: customers, the sync_msg store, send rules and contact links.

Not thread-safe on its own: the simulator calls it under its lock.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.simulators.wecom import errors
from bot.simulators.wecom.errors import ApiError
from bot.simulators.wecom.support import MediaStore, SimClock

HOUR = 3600
SESSION_TTL = 48 * HOUR  # a session lapses 48 h after the customer's last message
SEND_WINDOW = 48 * HOUR
SEND_QUOTA = 5
WELCOME_QUIET = 48 * HOUR
SYNC_WINDOW = 3 * 24 * HOUR
CALLBACK_TOKEN_TTL = 600
EVENT_CODE_TTL = 20
SYNC_LIMIT_MAX = 1000
TOKENLESS_SYNC_PER_MINUTE = 2  # sim choice: "strictly rate-limited" without the callback token
TEXT_MAX_BYTES = 2048  # sim choice for kf text
MENU_MAX_ITEMS = 10  # sim choice
CONTACT_HOST = "https://work.weixin.qq.com/kf/"  # a string only; nothing ever fetches it

STATE_NEW, STATE_BOT, STATE_QUEUE, STATE_HUMAN, STATE_ENDED = 0, 1, 2, 3, 4
ALLOWED_TRANSITIONS = {
    STATE_NEW: {STATE_BOT, STATE_QUEUE, STATE_HUMAN, STATE_ENDED},
    STATE_BOT: {STATE_QUEUE, STATE_HUMAN, STATE_ENDED},
    STATE_QUEUE: {STATE_HUMAN, STATE_ENDED},
    STATE_HUMAN: {STATE_HUMAN, STATE_ENDED},
    STATE_ENDED: set(),
}
_ID_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


@dataclass
class Customer:
    """One WeChat user as the kf account knows them."""

    external_userid: str
    nickname: str
    state: int = STATE_ENDED
    servicer_userid: str = ""
    last_customer_at: float | None = None
    sent_since_customer: int = 0
    last_welcome_at: float | None = None
    scene: str = ""
    scene_param: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class EventCode:
    """A welcome_code or msg_code for send_msg_on_event: one message within 20 s."""

    external_userid: str
    issued_at: float
    kind: str
    used: bool = False


def _rand_digits(n: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(n))


def _utf8_len(value: str) -> int:
    return len(value.encode("utf-8"))


def _require_str(payload: dict[str, Any], key: str, what: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(errors.INVALID_PARAM, f"{what}.{key} missing")
    return value


class KfState:
    """Everything the simulated kf account remembers."""

    def __init__(self, clock: SimClock, open_kfid: str, media: MediaStore) -> None:
        self.open_kfid = open_kfid
        self._clock = clock
        self._media = media
        self._customers: dict[str, Customer] = {}
        self._messages: list[dict[str, Any]] = []
        self._cursors: dict[str, int] = {}
        self._callback_tokens: dict[str, float] = {}
        self._tokenless_syncs: deque[float] = deque()
        self._event_codes: dict[str, EventCode] = {}
        self._used_msgids: set[str] = set()
        self._scenes: dict[str, str] = {}  # enc_scene -> scene
        self._link_ids: set[str] = set()

    # -- customers acting ------------------------------------------------------------

    def customer(self, external_userid: str) -> Customer:
        """The customer record, created on first contact."""
        if not external_userid:
            raise ValueError("external_userid is required")
        found = self._customers.get(external_userid)
        if found is None:
            found = Customer(external_userid, nickname=f"微信用户{external_userid[-4:]}")
            self._customers[external_userid] = found
        return found

    def record_customer_message(
        self, external_userid: str, msgtype: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """Store a message from the customer (origin 3); it opens a new 5-message window."""
        now = self._clock.now()
        customer = self.customer(external_userid)
        if self.state_of(customer) == STATE_ENDED:
            customer.state = STATE_NEW
            customer.servicer_userid = ""
        customer.last_customer_at = now
        customer.sent_since_customer = 0
        message = {
            "msgid": f"from_msgid_{_rand_digits(19)}",
            "open_kfid": self.open_kfid,
            "external_userid": external_userid,
            "send_time": int(now),
            "origin": 3,
            "msgtype": msgtype,
            msgtype: payload,
        }
        self._messages.append(message)
        return message

    def record_enter(self, external_userid: str, scene: str, scene_param: str) -> dict[str, Any]:
        """Store an enter_session event; it carries a welcome_code only when eligible."""
        now = self._clock.now()
        customer = self.customer(external_userid)
        customer.scene, customer.scene_param = scene, scene_param
        event: dict[str, Any] = {
            "event_type": "enter_session",
            "open_kfid": self.open_kfid,
            "external_userid": external_userid,
            "scene": scene,
            "scene_param": scene_param,
        }
        if self._welcome_eligible(customer, now):
            code = secrets.token_urlsafe(24)
            self._event_codes[code] = EventCode(external_userid, now, "welcome")
            event["welcome_code"] = code
        message = {
            "msgid": secrets.token_hex(16),
            "send_time": int(now),
            "origin": 4,
            "msgtype": "event",
            "event": event,
        }
        self._messages.append(message)
        return message

    def _welcome_eligible(self, customer: Customer, now: float) -> bool:
        # WeCom 96428: no welcome in the past 48 h and no message from the user in that time
        recent_msg = customer.last_customer_at is not None and (
            now - customer.last_customer_at < WELCOME_QUIET
        )
        recent_welcome = customer.last_welcome_at is not None and (
            now - customer.last_welcome_at < WELCOME_QUIET
        )
        return not recent_msg and not recent_welcome

    def issue_callback_token(self) -> str:
        """A fresh `Token` for a kf_msg_or_event callback (valid 10 min for sync_msg)."""
        token = "ENC" + secrets.token_urlsafe(33).replace("-", "A").replace("_", "b")
        self._callback_tokens[token] = self._clock.now()
        return token

    def state_of(self, customer: Customer) -> int:
        """Session state, lapsing to 4 once 48 h pass without a customer message."""
        last = customer.last_customer_at
        if last is None or self._clock.now() - last > SESSION_TTL:
            customer.state, customer.servicer_userid = STATE_ENDED, ""
        return customer.state

    def seen_by(self, external_userid: str) -> list[dict[str, Any]]:
        """Copies of the messages delivered to the customer, oldest first."""
        found = self._customers.get(external_userid)
        return copy.deepcopy(found.seen) if found else []

    def find_menu_item(self, external_userid: str, menu_id: str) -> str:
        """Content of a click item the customer was shown, newest menu first."""
        for message in reversed(self.seen_by(external_userid)):
            if message.get("msgtype") != "msgmenu":
                continue
            for item in message["msgmenu"].get("list", []):
                click = item.get("click") or {}
                if item.get("type") == "click" and click.get("id") == menu_id:
                    return str(click.get("content", ""))
        raise ValueError(f"{external_userid} was never shown a menu item {menu_id!r}")

    # -- API ---------------------------------------------------------------------------

    def _check_open_kfid(self, body: dict[str, Any]) -> None:
        if body.get("open_kfid") != self.open_kfid:
            raise ApiError(errors.KF_INVALID_OPEN_KFID, "invalid open_kfid")

    def sync_msg(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/sync_msg: cursor paging over the last 3 days of customer messages and events."""
        self._check_open_kfid(body)
        limit = body.get("limit", SYNC_LIMIT_MAX)
        if not isinstance(limit, int) or not 1 <= limit <= SYNC_LIMIT_MAX:
            raise ApiError(errors.INVALID_PARAM, f"invalid limit {limit!r}")
        if body.get("voice_format", 0) not in (0, 1):
            raise ApiError(errors.INVALID_PARAM, "invalid voice_format")
        self._check_sync_token(str(body.get("token") or ""))
        start = self._cursor_position(str(body.get("cursor") or ""))
        cutoff = self._clock.now() - SYNC_WINDOW
        fresh = [
            i for i in range(start, len(self._messages)) if self._messages[i]["send_time"] >= cutoff
        ]
        page = fresh[:limit]
        end = page[-1] + 1 if page else len(self._messages)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "next_cursor": self._new_cursor(end),
            "has_more": 1 if len(fresh) > limit else 0,
            "msg_list": [copy.deepcopy(self._messages[i]) for i in page],
        }

    def _check_sync_token(self, token: str) -> None:
        now = self._clock.now()
        if token:
            issued = self._callback_tokens.get(token)
            if issued is None or now - issued > CALLBACK_TOKEN_TTL:
                raise ApiError(errors.KF_INVALID_MSG_TOKEN)
            return
        while self._tokenless_syncs and now - self._tokenless_syncs[0] >= 60:
            self._tokenless_syncs.popleft()
        if len(self._tokenless_syncs) >= TOKENLESS_SYNC_PER_MINUTE:
            raise ApiError(errors.FREQ_LIMIT, "sync_msg without token is rate limited")
        self._tokenless_syncs.append(now)

    def _cursor_position(self, cursor: str) -> int:
        if not cursor:
            return 0
        if cursor not in self._cursors:
            raise ApiError(errors.INVALID_PARAM, "invalid cursor")
        return self._cursors[cursor]

    def _new_cursor(self, position: int) -> str:
        cursor = secrets.token_urlsafe(12)
        self._cursors[cursor] = position
        return cursor

    def send_msg(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/send_msg: state 0/1 only, 5 messages per customer message within 48 h."""
        self._check_open_kfid(body)
        msgid = self._check_msgid(body.get("msgid"))
        msgtype = str(body.get("msgtype") or "")
        self._validate_payload(msgtype, body.get(msgtype))
        customer = self._customers.get(str(body.get("touser") or ""))
        now = self._clock.now()
        if customer is None or customer.last_customer_at is None:
            raise ApiError(errors.KF_SEND_TIME_LIMIT, "customer never sent a message")
        if now - customer.last_customer_at > SEND_WINDOW:
            raise ApiError(errors.KF_SEND_TIME_LIMIT, "48 h since the last customer message")
        if self.state_of(customer) not in (STATE_NEW, STATE_BOT):
            raise ApiError(errors.KF_SESSION_STATUS_INVALID)
        if customer.sent_since_customer >= SEND_QUOTA:
            raise ApiError(errors.KF_SEND_COUNT_LIMIT)
        customer.sent_since_customer += 1
        return self._deliver(customer, msgid, msgtype, body[msgtype], "send_msg")

    def send_msg_on_event(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/send_msg_on_event: one text or msgmenu per welcome_code/msg_code within 20 s."""
        code = self._event_codes.get(str(body.get("code") or ""))
        now = self._clock.now()
        if code is None or code.used or now - code.issued_at > EVENT_CODE_TTL:
            raise ApiError(errors.KF_INVALID_EVENT_CODE, "invalid code")
        msgid = self._check_msgid(body.get("msgid"))
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in ("text", "msgmenu"):
            raise ApiError(errors.INVALID_MSGTYPE, f"invalid msgtype {msgtype!r}")
        self._validate_payload(msgtype, body.get(msgtype))
        code.used = True
        customer = self.customer(code.external_userid)
        if code.kind == "welcome":
            customer.last_welcome_at = now
        return self._deliver(customer, msgid, msgtype, body[msgtype], "send_msg_on_event")

    def _deliver(
        self, customer: Customer, msgid: str, msgtype: str, payload: Any, via: str
    ) -> dict[str, Any]:
        self._used_msgids.add(msgid)
        customer.seen.append(
            {
                "msgid": msgid,
                "msgtype": msgtype,
                msgtype: copy.deepcopy(payload),
                "send_time": int(self._clock.now()),
                "via": via,
            }
        )
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _check_msgid(self, msgid: Any) -> str:
        if msgid is None or msgid == "":
            return secrets.token_hex(16)
        if not isinstance(msgid, str) or not _ID_RE.match(msgid):
            raise ApiError(errors.INVALID_PARAM, "invalid msgid")
        if msgid in self._used_msgids:
            raise ApiError(errors.KF_DUPLICATE_MSGID, f"duplicate msgid {msgid}")
        return msgid

    def _validate_payload(self, msgtype: str, payload: Any) -> None:
        validators = {
            "text": self._validate_text,
            "image": self._validate_media,
            "voice": self._validate_media,
            "video": self._validate_media,
            "file": self._validate_media,
            "link": self._validate_link,
            "miniprogram": self._validate_miniprogram,
            "msgmenu": self._validate_msgmenu,
            "location": self._validate_location,
        }
        if msgtype not in validators:
            raise ApiError(errors.INVALID_MSGTYPE, f"invalid msgtype {msgtype!r}")
        if not isinstance(payload, dict):
            raise ApiError(errors.INVALID_PARAM, f"{msgtype} body missing")
        validators[msgtype](payload)

    def _validate_text(self, payload: dict[str, Any]) -> None:
        content = payload.get("content")
        if not isinstance(content, str) or not content:
            raise ApiError(errors.EMPTY_CONTENT, "text content empty")
        if _utf8_len(content) > TEXT_MAX_BYTES:
            raise ApiError(errors.CONTENT_TOO_LONG, "text content too long")

    def _validate_media(self, payload: dict[str, Any]) -> None:
        self._media.get(payload.get("media_id"))

    def _validate_link(self, payload: dict[str, Any]) -> None:
        _require_str(payload, "title", "link")
        _require_str(payload, "url", "link")
        self._media.get(_require_str(payload, "thumb_media_id", "link"))

    def _validate_miniprogram(self, payload: dict[str, Any]) -> None:
        for key in ("appid", "pagepath"):
            _require_str(payload, key, "miniprogram")
        self._media.get(_require_str(payload, "thumb_media_id", "miniprogram"))

    def _validate_location(self, payload: dict[str, Any]) -> None:
        for key in ("latitude", "longitude"):
            if not isinstance(payload.get(key), int | float):
                raise ApiError(errors.INVALID_PARAM, f"location.{key} missing")

    def _validate_msgmenu(self, payload: dict[str, Any]) -> None:
        items = payload.get("list")
        if not isinstance(items, list) or not 1 <= len(items) <= MENU_MAX_ITEMS:
            raise ApiError(errors.KF_INVALID_MENU_COUNT, "invalid msgmenu item count")
        for item in items:
            self._validate_menu_item(item)

    def _validate_menu_item(self, item: Any) -> None:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind not in ("click", "view", "miniprogram", "text"):
            raise ApiError(errors.KF_INVALID_MENU_TYPE, f"invalid msgmenu item type {kind!r}")
        assert isinstance(item, dict)
        body = item.get(kind)
        if not isinstance(body, dict):
            raise ApiError(errors.INVALID_PARAM, f"msgmenu {kind} item body missing")
        if kind == "click":
            menu_id = body.get("id")
            if not isinstance(menu_id, str) or not 1 <= _utf8_len(menu_id) <= 128:
                raise ApiError(errors.KF_INVALID_MENU_ID, "invalid msgmenu click id")
            _require_str(body, "content", "msgmenu.click")
        elif kind == "view":
            _require_str(body, "url", "msgmenu.view")
            _require_str(body, "content", "msgmenu.view")
        elif kind == "miniprogram":
            _require_str(body, "appid", "msgmenu.miniprogram")
            _require_str(body, "pagepath", "msgmenu.miniprogram")
            _require_str(body, "content", "msgmenu.miniprogram")
        else:
            _require_str(body, "content", "msgmenu.text")

    def add_contact_way(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/add_contact_way: a link that remembers the scene (string only, never fetched)."""
        self._check_open_kfid(body)
        scene = body.get("scene") or ""
        if scene and (not isinstance(scene, str) or not _ID_RE.match(scene)):
            raise ApiError(errors.INVALID_PARAM, "invalid scene")
        link_id = "kfc" + secrets.token_hex(17)
        self._link_ids.add(link_id)
        url = CONTACT_HOST + link_id
        if scene:
            enc = "ENC" + secrets.token_urlsafe(24).replace("-", "Z").replace("_", "q")
            self._scenes[enc] = scene
            url += f"?enc_scene={enc}"
        return {"errcode": 0, "errmsg": "ok", "url": url}

    def decode_contact_url(self, url: str) -> tuple[str, str]:
        """(scene, scene_param) a WeChat user entering through this link would carry."""
        parts = urlsplit(url)
        link_id = parts.path.rstrip("/").rsplit("/", 1)[-1]
        if link_id not in self._link_ids:
            raise ValueError(f"not a contact link issued by this simulator: {url}")
        query = parse_qs(parts.query, keep_blank_values=True)
        scene = ""
        if "enc_scene" in query:
            enc = query["enc_scene"][0]
            if enc not in self._scenes:
                raise ValueError("edited enc_scene: WeCom would send no callback")
            scene = self._scenes[enc]
        scene_param = query.get("scene_param", [""])[0]
        if _utf8_len(scene_param) > 128:
            raise ValueError("scene_param longer than 128 bytes")
        return scene, scene_param

    def _api_customer(self, body: dict[str, Any]) -> Customer:
        external_userid = body.get("external_userid")
        if not isinstance(external_userid, str) or not external_userid:
            raise ApiError(errors.INVALID_PARAM, "external_userid missing")
        return self.customer(external_userid)

    def service_state_get(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/service_state/get."""
        self._check_open_kfid(body)
        customer = self._api_customer(body)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "service_state": self.state_of(customer),
            "servicer_userid": customer.servicer_userid,
        }

    def service_state_trans(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/service_state/trans, with msg_code when a servicer takes over or it ends."""
        self._check_open_kfid(body)
        customer = self._api_customer(body)
        new_state = body.get("service_state")
        if new_state not in ALLOWED_TRANSITIONS[self.state_of(customer)]:
            raise ApiError(errors.KF_INVALID_STATE_CHANGE, "state change not allowed")
        servicer = str(body.get("servicer_userid") or "")
        if new_state == STATE_HUMAN and not servicer:
            raise ApiError(errors.INVALID_PARAM, "servicer_userid missing")
        customer.state = int(new_state)
        customer.servicer_userid = servicer if new_state == STATE_HUMAN else ""
        result: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if new_state in (STATE_HUMAN, STATE_ENDED):
            code = secrets.token_urlsafe(24)
            self._event_codes[code] = EventCode(customer.external_userid, self._clock.now(), "msg")
            result["msg_code"] = code
        return result

    def set_state(self, external_userid: str, state: int, servicer_userid: str = "") -> None:
        """Force a session state (test helper: a human agent taking over, etc.)."""
        if state not in ALLOWED_TRANSITIONS:
            raise ValueError(f"unknown session state {state}")
        customer = self.customer(external_userid)
        customer.state, customer.servicer_userid = state, servicer_userid

    def age_last_message(self, external_userid: str, hours: float) -> None:
        """Make the customer's last message `hours` older (test helper: a send window that
        closed without moving the simulator's clock, which lianxin's callback gate checks)."""
        customer = self.customer(external_userid)
        if customer.last_customer_at is None:
            raise ValueError(f"{external_userid} never sent a message")
        customer.last_customer_at -= hours * HOUR

    def account_list(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/account/list: the single simulated account."""
        account = {
            "open_kfid": self.open_kfid,
            "name": "连心客服",
            "avatar": "",
            "manage_privilege": True,
        }
        return {"errcode": 0, "errmsg": "ok", "account_list": [account]}

    def customer_batchget(self, body: dict[str, Any]) -> dict[str, Any]:
        """kf/customer/batchget: nickname etc. for known customers."""
        ids = body.get("external_userid_list")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(errors.INVALID_PARAM, "invalid external_userid_list")
        found, invalid = [], []
        for uid in ids:
            customer = self._customers.get(str(uid))
            if customer is None:
                invalid.append(uid)
                continue
            entry: dict[str, Any] = {
                "external_userid": customer.external_userid,
                "nickname": customer.nickname,
                "avatar": "",
                "gender": 0,
                "unionid": "",
            }
            if body.get("need_enter_session_context") == 1:
                entry["enter_session_context"] = {
                    "scene": customer.scene,
                    "scene_param": customer.scene_param,
                }
            found.append(entry)
        return {
            "errcode": 0,
            "errmsg": "ok",
            "customer_list": found,
            "invalid_external_userid": invalid,
        }
