"""Stream frames → inbox records (in the stream process) → neutral events (in the worker).

The stream process stores each frame as received (`frame_record`); the worker turns the stored
frame into a `StaffText` or `CardAction` (`staff_text_from`, `card_action_from`). Both sides
are pure functions over JSON, so they are tested without a socket (dingtalk.md §1.2, §2, §3).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from handlers.events import CardAction, StaffText

log = logging.getLogger(__name__)

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
BOT_SOURCE = "dingtalk_bot"
CARD_SOURCE = "dingtalk_card"
SOURCES = {BOT_TOPIC: BOT_SOURCE, CARD_TOPIC: CARD_SOURCE}


class FrameError(ValueError):
    """A frame that cannot be recorded: the stream refuses it (ACK 400) and logs why."""


@dataclass(frozen=True)
class InboxRecord:
    """What the stream process writes to the inbox for one callback frame."""

    source: str
    key: str
    payload: str
    conversation: str  # dt:<conversationId or card>:<sender>: one sender's events in one chat


def parse_json_object(text: Any, what: str) -> dict[str, Any]:
    """`text` (a JSON string) decoded to an object, or FrameError."""
    if not isinstance(text, str):
        raise FrameError(f"{what} is not a JSON string")
    try:
        value = json.loads(text)
    except ValueError:
        raise FrameError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise FrameError(f"{what} is not a JSON object")
    return value


def frame_record(headers: Any, data: Any) -> InboxRecord:
    """The inbox record of a bot-message or card-callback frame, or FrameError.

    `data` is the frame's data as sent (a JSON string) or as the SDK decoded it.

    Dedupe keys: a bot message by `data.msgId` (the platform's message id, stable across
    redeliveries; dingtalk.md §1.4 says to dedupe on it), falling back to `headers.messageId`;
    a card callback by `headers.messageId`, which a redelivered frame keeps. A second click is a
    new event on purpose: a key built from (outTrackId, userId, content) would also swallow a
    legitimate repeat, e.g. 接单 again after the case was reassigned back to the same deputy.
    """
    if not isinstance(headers, dict):
        raise FrameError("frame has no headers")
    topic = headers.get("topic")
    if not isinstance(data, dict):
        data = parse_json_object(data, "data")
    message_id = headers.get("messageId")
    if topic == BOT_TOPIC:
        msg_id = data.get("msgId")
        key = msg_id if isinstance(msg_id, str) and msg_id else message_id
        if not isinstance(data.get("msgtype"), str):
            raise FrameError("bot message without msgtype")
        chat, sender = data.get("conversationId"), data.get("senderStaffId")
    elif topic == CARD_TOPIC:
        key = message_id
        out_track_id, sender, _ = card_basics(data)
        chat = data.get("spaceId") or out_track_id
    else:
        raise FrameError(f"no inbox source for topic {topic!r}")
    if not isinstance(key, str) or not key:
        raise FrameError("frame has neither msgId nor messageId")
    stored = {"headers": headers, "data": data}
    conversation = f"dt:{chat or '-'}:{sender or '-'}"[:200]
    return InboxRecord(
        SOURCES[topic], key[:160], json.dumps(stored, ensure_ascii=False), conversation
    )


def card_basics(data: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(outTrackId, userId, cardPrivateData.params) of a card callback, or FrameError."""
    out_track_id, user_id = data.get("outTrackId"), data.get("userId")
    if not isinstance(out_track_id, str) or not out_track_id:
        raise FrameError("card callback without outTrackId")
    if not isinstance(user_id, str) or not user_id:
        raise FrameError("card callback without userId")
    content = parse_json_object(data.get("content") or data.get("value"), "content")
    private = content.get("cardPrivateData")
    params = private.get("params") if isinstance(private, dict) else None
    if not isinstance(params, dict) or not isinstance(params.get("action"), str):
        raise FrameError("card callback without cardPrivateData.params.action")
    return out_track_id, user_id, params


def _stored(payload: str) -> tuple[dict[str, Any], dict[str, Any]]:
    stored = json.loads(payload)
    return stored["headers"], stored["data"]


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text_and_attachments(data: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The text and the downloadCodes of a bot message of any msgtype (dingtalk.md §2)."""
    msgtype = data.get("msgtype")
    content = _obj(data.get("content"))
    if msgtype == "text":
        return str(_obj(data.get("text")).get("content") or "").strip(), ()
    if msgtype == "richText":
        parts = [_obj(p) for p in content.get("richText") or [] if isinstance(p, dict)]
        words = "".join(str(p["text"]) for p in parts if "text" in p)
        codes = tuple(str(p["downloadCode"]) for p in parts if p.get("downloadCode"))
        return words.strip(), codes
    code = content.get("downloadCode")
    single: tuple[str, ...] = (str(code),) if code else ()
    if msgtype == "audio":
        # speech-to-text of a voice message: a deputy may say 「待办」
        return str(content.get("recognition") or "").strip(), single
    return "", single


def staff_text_from(payload: str) -> StaffText | None:
    """The neutral event of a stored bot-message frame; None (logged) when it is unusable."""
    headers, data = _stored(payload)
    user_id = data.get("senderStaffId")
    if not isinstance(user_id, str) or not user_id:
        log.warning(
            "bot message %s has no senderStaffId (external user?); ignored", data.get("msgId")
        )
        return None
    text, attachments = _text_and_attachments(data)
    group = str(data.get("conversationType")) == "2"
    webhook = data.get("sessionWebhook")
    return StaffText(
        platform="dingtalk",
        user_id=user_id,
        platform_id=str(data.get("msgId") or headers.get("messageId")),
        text=text,
        sent_at=_ms(data.get("createAt")) or _ms(headers.get("time")) or datetime.now(UTC),
        conversation_id=data.get("conversationId")
        if isinstance(data.get("conversationId"), str)
        else None,
        conversation_type="group" if group else "private",
        sender_name=data.get("senderNick") if isinstance(data.get("senderNick"), str) else None,
        reply_webhook=webhook if isinstance(webhook, str) and webhook else None,
        reply_webhook_expires_at=_ms(data.get("sessionWebhookExpiredTime")),
        attachments=attachments,
    )


def card_action_from(payload: str) -> CardAction | None:
    """The neutral event of a stored card-callback frame; None (logged) when it is unusable."""
    headers, data = _stored(payload)
    try:
        out_track_id, user_id, params = card_basics(data)
    except FrameError as exc:
        log.warning("card callback %s unusable: %s", headers.get("messageId"), exc)
        return None
    flat = {
        str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        for k, v in params.items()
    }
    return CardAction(
        platform="dingtalk",
        user_id=user_id,
        platform_id=str(headers.get("messageId")),
        card_id=out_track_id,
        action=flat["action"],
        params=flat,
        sent_at=_ms(headers.get("time")) or datetime.now(UTC),
        conversation_id=data.get("spaceId") if isinstance(data.get("spaceId"), str) else None,
    )
