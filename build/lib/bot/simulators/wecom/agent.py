"""Self-built app (自建应用) state: members, message/send, template cards, response codes.

Not thread-safe on its own: the simulator calls it under its lock.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.simulators.wecom import errors
from bot.simulators.wecom.errors import ApiError
from bot.simulators.wecom.support import SimClock

MEMBER_PER_MINUTE = 30
MEMBER_PER_HOUR = 1000
RESPONSE_CODE_TTL = 24 * 3600  # wecom.md: 72 h on the 2025 page, 24 h in an older copy
CONTENT_MAX_BYTES = 2048  # longer text/markdown is truncated, not refused
CARD_TYPES = {
    "text_notice",
    "news_notice",
    "button_interaction",
    "vote_interaction",
    "multiple_interaction",
}
INTERACTIVE_CARDS = {"button_interaction", "vote_interaction", "multiple_interaction"}
MSGTYPES = {"text", "markdown", "template_card", "textcard", "news", "image", "file"}
_TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")


@dataclass
class ResponseCode:
    """A response_code usable once with message/update_template_card."""

    task_id: str
    userids: list[str]
    issued_at: float
    used: bool = False


@dataclass
class CardTask:
    """A template card as sent, keyed by task_id."""

    card: dict[str, Any]
    recipients: set[str] = field(default_factory=set)


def _truncate_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


class AgentState:
    """Messages the app sends to members, and what each member saw."""

    def __init__(self, clock: SimClock, agent_id: int, members: Iterable[str] | None) -> None:
        self.agent_id = agent_id
        self._clock = clock
        self._roster: set[str] | None = None if members is None else {m.lower() for m in members}
        self._known: set[str] = set()  # members who talked to the app (for @all without roster)
        self._delivered: dict[str, list[dict[str, Any]]] = {}
        self._sent_times: dict[str, deque[float]] = {}
        self.dropped: dict[str, int] = {}
        self._tasks: dict[str, CardTask] = {}
        self._codes: dict[str, ResponseCode] = {}

    # -- members ------------------------------------------------------------------------

    def add_member(self, userid: str) -> None:
        """Add a member to the app's visible range (only meaningful with a roster)."""
        if self._roster is not None:
            self._roster.add(userid.lower())
        self._known.add(userid.lower())

    def is_member(self, userid: str) -> bool:
        """Whether message/send may reach this userid."""
        return self._roster is None or userid.lower() in self._roster

    def note_member(self, userid: str) -> None:
        """Remember a member who wrote to the app."""
        if not self.is_member(userid):
            raise ValueError(f"{userid} is not in the app's visible range")
        self._known.add(userid.lower())

    def messages_to(self, userid: str) -> list[dict[str, Any]]:
        """Copies of what the member received, oldest first."""
        return copy.deepcopy(self._delivered.get(userid.lower(), []))

    # -- message/send -------------------------------------------------------------------

    def _check_agent(self, body: dict[str, Any]) -> None:
        try:
            ok = int(body.get("agentid")) == self.agent_id  # type: ignore[arg-type]
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ApiError(errors.INVALID_AGENTID, "invalid agentid")

    def message_send(self, body: dict[str, Any]) -> dict[str, Any]:
        """message/send: invaliduser, 81013, silent drop beyond 30/min and 1000/h per member."""
        self._check_agent(body)
        msgtype = str(body.get("msgtype") or "")
        if msgtype not in MSGTYPES:
            raise ApiError(errors.INVALID_MSGTYPE, f"invalid msgtype {msgtype!r}")
        payload = self._validated_payload(msgtype, body.get(msgtype))
        valid, invalid = self._recipients(str(body.get("touser") or ""))
        invalid_party = str(body.get("toparty") or "")  # the simulator has no departments/tags
        invalid_tag = str(body.get("totag") or "")
        if not valid:
            raise ApiError(errors.ALL_RECIPIENTS_INVALID)
        msgid = secrets.token_urlsafe(24)
        response_code = self._register_card(payload, valid) if msgtype == "template_card" else None
        for userid in valid:
            self._deliver(userid, msgid, msgtype, payload, "message/send")
        result: dict[str, Any] = {
            "errcode": 0,
            "errmsg": "ok",
            "invaliduser": "|".join(invalid),
            "invalidparty": invalid_party,
            "invalidtag": invalid_tag,
            "unlicenseduser": "",
            "msgid": msgid,
        }
        if response_code:
            result["response_code"] = response_code
        return result

    def _recipients(self, touser: str) -> tuple[list[str], list[str]]:
        if touser == "@all":
            members = self._roster if self._roster is not None else self._known
            return sorted(members), []
        users = [u for u in touser.split("|") if u]
        if len(users) > 1000:
            raise ApiError(errors.INVALID_PARAM, "touser exceeds 1000")
        valid = [u.lower() for u in users if self.is_member(u)]
        invalid = [u.lower() for u in users if not self.is_member(u)]
        return list(dict.fromkeys(valid)), invalid

    def _deliver(self, userid: str, msgid: str, msgtype: str, payload: Any, via: str) -> None:
        now = self._clock.now()
        if via == "message/send" and not self._within_rate(userid, now):
            self.dropped[userid] = self.dropped.get(userid, 0) + 1  # WeCom drops silently
            return
        entry = {
            "msgid": msgid,
            "msgtype": msgtype,
            msgtype: copy.deepcopy(payload),
            "agentid": self.agent_id,
            "send_time": int(now),
            "via": via,
            "updates": [],
        }
        self._delivered.setdefault(userid, []).append(entry)

    def _within_rate(self, userid: str, now: float) -> bool:
        times = self._sent_times.setdefault(userid, deque())
        while times and now - times[0] >= 3600:
            times.popleft()
        last_minute = sum(1 for t in times if now - t < 60)
        if last_minute >= MEMBER_PER_MINUTE or len(times) >= MEMBER_PER_HOUR:
            return False
        times.append(now)
        return True

    def _validated_payload(self, msgtype: str, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ApiError(errors.INVALID_PARAM, f"{msgtype} body missing")
        payload = copy.deepcopy(payload)
        if msgtype in ("text", "markdown"):
            content = payload.get("content")
            if not isinstance(content, str) or not content:
                raise ApiError(errors.EMPTY_CONTENT, "content empty")
            payload["content"] = _truncate_utf8(content, CONTENT_MAX_BYTES)
        elif msgtype == "template_card":
            self._validate_card(payload)
        elif msgtype == "textcard":
            for key in ("title", "description", "url"):
                if not payload.get(key):
                    raise ApiError(errors.INVALID_PARAM, f"textcard.{key} missing")
        elif msgtype == "news":
            articles = payload.get("articles")
            if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
                raise ApiError(errors.INVALID_PARAM, "news.articles must hold 1..8 items")
        elif not payload.get("media_id"):
            raise ApiError(errors.INVALID_MEDIA_ID, "media_id missing")
        return payload

    def _validate_card(self, card: dict[str, Any]) -> None:
        card_type = card.get("card_type")
        if card_type not in CARD_TYPES:
            raise ApiError(errors.INVALID_PARAM, f"invalid card_type {card_type!r}")
        main_title = card.get("main_title")
        if card_type != "text_notice" and not (
            isinstance(main_title, dict) and main_title.get("title")
        ):
            raise ApiError(errors.INVALID_PARAM, "main_title.title missing")
        task_id = card.get("task_id")
        if card_type in INTERACTIVE_CARDS or task_id is not None:
            if not isinstance(task_id, str) or not _TASK_ID_RE.match(task_id):
                raise ApiError(errors.INVALID_PARAM, "invalid task_id")
            if task_id in self._tasks:
                raise ApiError(errors.DUPLICATE_TASK_ID, f"duplicate task_id {task_id}")
        if card_type == "button_interaction":
            self._validate_buttons(card.get("button_list"))
        elif card_type in ("vote_interaction", "multiple_interaction"):
            submit = card.get("submit_button")
            if not isinstance(submit, dict) or not submit.get("text") or not submit.get("key"):
                raise ApiError(errors.INVALID_PARAM, "submit_button missing")

    @staticmethod
    def _validate_buttons(buttons: Any) -> None:
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
            raise ApiError(errors.INVALID_PARAM, "button_list must hold 1..6 buttons")
        for button in buttons:
            if not isinstance(button, dict) or not button.get("text") or not button.get("key"):
                raise ApiError(errors.INVALID_PARAM, "button text/key missing")
            if button.get("style", 1) not in (1, 2, 3, 4):
                raise ApiError(errors.INVALID_PARAM, "button style must be 1..4")

    def _register_card(self, card: dict[str, Any], userids: list[str]) -> str | None:
        task_id = card.get("task_id")
        if not task_id:
            return None
        self._tasks[task_id] = CardTask(copy.deepcopy(card), set(userids))
        if card["card_type"] not in INTERACTIVE_CARDS:
            return None
        return self._new_code(task_id, userids)

    def _new_code(self, task_id: str, userids: list[str]) -> str:
        code = secrets.token_urlsafe(32)
        self._codes[code] = ResponseCode(task_id, list(userids), self._clock.now())
        return code

    # -- cards -------------------------------------------------------------------------

    def click(self, userid: str, task_id: str, event_key: str) -> tuple[str, str]:
        """A member presses a card button: (card_type, fresh response_code) for the callback."""
        task = self._tasks.get(task_id)
        if task is None or userid.lower() not in task.recipients:
            raise ValueError(f"{userid} never received a card with task_id {task_id!r}")
        card_type = str(task.card["card_type"])
        if card_type == "button_interaction":
            keys = {b.get("key") for b in task.card.get("button_list", [])}
            if event_key not in keys:
                raise ValueError(f"card {task_id} has no button {event_key!r}")
        return card_type, self._new_code(task_id, [userid.lower()])

    def update_template_card(self, body: dict[str, Any]) -> dict[str, Any]:
        """message/update_template_card: each response_code works once, for 24 h."""
        self._check_agent(body)
        code = self._codes.get(str(body.get("response_code") or ""))
        now = self._clock.now()
        if code is None or code.used or now - code.issued_at > RESPONSE_CODE_TTL:
            raise ApiError(errors.INVALID_RESPONSE_CODE, "invalid response_code")
        update = self._update_of(body)
        if body.get("atall") == 1:
            targets, invalid = list(code.userids), []
        else:
            asked = [str(u) for u in body.get("userids") or []]
            if not asked:
                raise ApiError(errors.INVALID_PARAM, "userids or atall required")
            targets = [u.lower() for u in asked if u.lower() in code.userids]
            invalid = [u for u in asked if u.lower() not in code.userids]
        code.used = True
        for userid in targets:
            self._apply_update(userid, code.task_id, update)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": invalid}

    def _update_of(self, body: dict[str, Any]) -> dict[str, Any]:
        button = body.get("button")
        if isinstance(button, dict) and button.get("replace_name"):
            return {"button": {"replace_name": str(button["replace_name"])}}
        card = body.get("template_card")
        if isinstance(card, dict):
            if card.get("card_type") not in CARD_TYPES:
                raise ApiError(errors.INVALID_PARAM, "invalid card_type")
            return {"template_card": copy.deepcopy(card)}
        raise ApiError(errors.INVALID_PARAM, "button.replace_name or template_card required")

    def _apply_update(self, userid: str, task_id: str, update: dict[str, Any]) -> None:
        for entry in self._delivered.get(userid, []):
            card = entry.get("template_card") or {}
            if entry["msgtype"] != "template_card" or card.get("task_id") != task_id:
                continue
            entry["updates"].append(copy.deepcopy(update))
            if "button" in update:
                entry["replace_name"] = update["button"]["replace_name"]
            else:
                new_card = copy.deepcopy(update["template_card"])
                new_card["task_id"] = task_id
                entry["template_card"] = new_card

    def passive_reply(self, userid: str, task_id: str | None, reply: dict[str, Any]) -> None:
        """Apply a decrypted passive reply (text to the member, or update_button on a card)."""
        msgtype = reply.get("MsgType")
        if msgtype == "text":
            payload = {"content": str(reply.get("Content") or "")}
            self._deliver(userid.lower(), secrets.token_urlsafe(24), "text", payload, "passive")
        elif msgtype == "update_button" and task_id:
            name = (reply.get("Button") or {}).get("ReplaceName", "")
            self._apply_update(userid.lower(), task_id, {"button": {"replace_name": name}})
