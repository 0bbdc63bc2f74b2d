"""Robot message validation (msgKey/msgParam, sessionWebhook bodies) and the users' chat views."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from bot.simulators.dingtalk import errors
from bot.simulators.dingtalk.errors import ApiError, bad_request

MSG_PARAM_MAX_BYTES = 15_000

# msgKey -> required msgParam fields (dingtalk.md §4.3 table; 13 keys, no sampleActionCard1)
MSG_KEYS: dict[str, tuple[str, ...]] = {
    "sampleText": ("content",),
    "sampleMarkdown": ("title", "text"),
    "sampleImageMsg": ("photoURL",),
    "sampleLink": ("text", "title", "picUrl", "messageUrl"),
    "sampleActionCard": ("title", "text", "singleTitle", "singleURL"),
    **{
        f"sampleActionCard{n}": ("title", "text")
        + tuple(f for i in range(1, n + 1) for f in (f"actionTitle{i}", f"actionURL{i}"))
        for n in range(2, 6)
    },
    "sampleActionCard6": (
        "title",
        "text",
        "buttonTitle1",
        "buttonUrl1",
        "buttonTitle2",
        "buttonUrl2",
    ),
    "sampleAudio": ("mediaId", "duration"),
    "sampleFile": ("mediaId", "fileName", "fileType"),
    "sampleVideo": ("duration", "videoMediaId", "videoType", "picMediaId"),
}

# sessionWebhook msgtype -> required fields of its object (custom-robot format, §2.1)
WEBHOOK_TYPES: dict[str, tuple[str, ...]] = {
    "text": ("content",),
    "markdown": ("title", "text"),
    "actionCard": ("title", "text"),
    "link": ("title", "text", "messageUrl"),
    "feedCard": ("links",),
}


def parse_msg(msg_key: Any, msg_param: Any) -> dict[str, Any]:
    """Validate an OpenAPI msgKey/msgParam pair; return msgParam decoded."""
    if msg_key not in MSG_KEYS:
        raise bad_request(errors.MSG_KEY, f"msgKey {msg_key!r} 不合法")
    if not isinstance(msg_param, str):
        raise bad_request(errors.MSG_PARAM, "msgParam 必须是 JSON 字符串")
    if len(msg_param.encode()) > MSG_PARAM_MAX_BYTES:
        raise bad_request(errors.MSG_PARAM, "msgParam 超过 15000 字节")
    try:
        param = json.loads(msg_param)
    except ValueError:
        raise bad_request(errors.MSG_PARAM, "msgParam 不是合法的 JSON") from None
    if not isinstance(param, dict):
        raise bad_request(errors.MSG_PARAM, "msgParam 必须是 JSON 对象")
    missing = [f for f in MSG_KEYS[msg_key] if f not in param]
    if missing:
        raise bad_request(errors.MSG_PARAM, f"msgParam 缺少字段 {','.join(missing)}")
    return param


def parse_webhook_body(body: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Validate a sessionWebhook body; return (msgtype, its object, at). Raises ValueError."""
    msgtype = body.get("msgtype")
    if msgtype not in WEBHOOK_TYPES:
        raise ValueError(f"unsupported msgtype {msgtype!r}")
    obj = body.get(msgtype)
    if not isinstance(obj, dict) or any(f not in obj for f in WEBHOOK_TYPES[msgtype]):
        raise ValueError(f"{msgtype} needs {', '.join(WEBHOOK_TYPES[msgtype])}")
    if msgtype == "actionCard" and "singleURL" not in obj and not isinstance(obj.get("btns"), list):
        raise ValueError("actionCard needs singleTitle/singleURL or btns")
    at = body.get("at") or {}
    if not isinstance(at, dict):
        raise ValueError("at must be an object")
    return msgtype, obj, at


def summary(msgtype: str, obj: dict[str, Any]) -> str:
    """The plain text a user would read first in a message bubble."""
    for key in ("content", "text", "title", "photoURL", "fileName"):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return msgtype


@dataclass
class Views:
    """Everything users see: one ordered timeline per group and per user's 1:1 chat."""

    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    seq: int = 0

    def add(self, space: tuple[str, str], entry: dict[str, Any]) -> dict[str, Any]:
        """Append an entry to a group ("group", cid) or 1:1 ("user", uid) timeline."""
        self.seq += 1
        entry = {"seq": self.seq, **entry}
        book = self.groups if space[0] == "group" else self.users
        book.setdefault(space[1], []).append(entry)
        return entry

    def timeline(self, space: tuple[str, str]) -> list[dict[str, Any]]:
        """A deep copy of one timeline."""
        book = self.groups if space[0] == "group" else self.users
        return copy.deepcopy(book.get(space[1], []))

    def recall(self, process_query_keys: list[str]) -> tuple[list[str], dict[str, str]]:
        """Mark robot messages recalled; return (recalled keys, failures by key)."""
        found: set[str] = set()
        for book in (self.groups, self.users):
            for entries in book.values():
                for entry in entries:
                    if entry.get("processQueryKey") in process_query_keys:
                        entry["recalled"] = True
                        found.add(entry["processQueryKey"])
        failed = {k: "processQueryKey 不存在" for k in process_query_keys if k not in found}
        return sorted(found), failed


def robot_entry(
    msgtype: str,
    obj: dict[str, Any],
    *,
    via: str,
    now_ms: int,
    at_user_ids: list[str] | None = None,
    at_all: bool = False,
    process_query_key: str | None = None,
) -> dict[str, Any]:
    """A timeline entry for a robot message (OpenAPI msgKey or sessionWebhook msgtype)."""
    entry: dict[str, Any] = {
        "kind": "message",
        "sender": "robot",
        "msgtype": msgtype,
        "body": obj,
        "text": summary(msgtype, obj),
        "at_user_ids": list(at_user_ids or []),
        "at_all": at_all,
        "via": via,
        "time": now_ms,
    }
    if process_query_key is not None:
        entry["processQueryKey"] = process_query_key
        entry["recalled"] = False
    return entry


def recall_body(recalled: list[str], failed: dict[str, str]) -> dict[str, Any]:
    """The body of both recall APIs (TEA BatchRecallOTOResponseBody / RecallGroupResponseBody)."""
    return {"successResult": recalled, "failedResult": failed}


def require_str_list(value: Any, code: str, name: str) -> list[str]:
    """A list of strings or a 400 ApiError."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, code, f"{name} 必须是字符串数组")
    return value


_DTMD = re.compile(r"\[([^\]]*)\]\(dtmd://dingtalkclient/sendMessage\?content=([^)\s]*)\)")
MARKDOWN_TYPES = frozenset({"sampleMarkdown", "markdown"})  # dtmd links work only there (§7)


def dtmd_links(entry: dict[str, Any]) -> dict[str, str]:
    """label -> text of the dtmd sendMessage links of a robot markdown message."""
    if entry.get("sender") != "robot" or entry.get("msgtype") not in MARKDOWN_TYPES:
        return {}
    text = str((entry.get("body") or {}).get("text") or "")
    return {label: unquote(content) for label, content in _DTMD.findall(text)}
