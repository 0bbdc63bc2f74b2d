"""Ids and the exact callback / frame JSON the DingTalk server sends (dingtalk.md §1.2, §2, §3)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

BOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
SESSION_TTL = 90 * 60  # sessionWebhookExpiredTime - createAt is 5 400 000 ms in every example
LWCP = "$:LWCP_v1:$"


def encrypted_id(kind: str, plain: str) -> str:
    """A stable opaque id like the `$:LWCP_v1:$…` ids DingTalk puts in senderId/chatbotUserId."""
    digest = hashlib.sha256(f"{kind}:{plain}".encode()).digest()
    return LWCP + base64.b64encode(digest[:24]).decode()


def private_conversation_id(user_id: str) -> str:
    """The 1:1 conversation id of a user with the bot (stable, cid…== like real ones)."""
    return (
        "cid" + base64.b64encode(hashlib.sha256(f"oto:{user_id}".encode()).digest()[:16]).decode()
    )


class Ids:
    """Random ids shaped like DingTalk's; one seeded RNG makes a run reproducible."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self._counter = 0

    def uuid(self) -> str:
        """A random UUID4 string."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, nbytes: int) -> str:
        """Random lower-case hex."""
        return self.rng.randbytes(nbytes).hex()

    def b64(self, nbytes: int) -> str:
        """Random standard base64."""
        return base64.b64encode(self.rng.randbytes(nbytes)).decode()

    def message_id(self, now_ms: int) -> str:
        """A frame messageId like `212ca9d7_974_1898c159aa6_1783b`."""
        self._counter += 1
        return f"{self.hex(4)}_{self._counter}_{now_ms:x}_{self.hex(3)[:5]}"

    def msg_id(self) -> str:
        """A bot message msgId like `msgLICYe…==`."""
        return "msg" + self.b64(16)

    def digits(self, n: int) -> str:
        """A random decimal string (carrier ids, staff-like numbers)."""
        return "".join(self.rng.choice("0123456789") for _ in range(n))


@dataclass(frozen=True)
class Org:
    """The fake org and its bot, as they appear in callback payloads."""

    corp_id: str
    robot_code: str
    chatbot_user_id: str


def server_frame(
    frame_type: str,
    topic: str,
    message_id: str,
    data: dict[str, Any],
    *,
    app_id: str,
    connection_id: str,
    now_ms: int,
) -> dict[str, Any]:
    """A server→client frame exactly as §1.2: `data` is a JSON string and `time` is a ms string."""
    return {
        "specVersion": "1.0",
        "type": frame_type,
        "headers": {
            "appId": app_id,
            "connectionId": connection_id,
            "contentType": "application/json",
            "messageId": message_id,
            "time": str(now_ms),
            "topic": topic,
        },
        "data": json.dumps(data, ensure_ascii=False),
    }


def ping_frame(message_id: str, opaque: str, now_ms: int) -> dict[str, Any]:
    """A SYSTEM ping (§1.3); the client must echo `opaque` in its ACK data."""
    return {
        "specVersion": "1.0",
        "type": "SYSTEM",
        "headers": {
            "contentType": "application/json",
            "messageId": message_id,
            "time": str(now_ms),
            "topic": "ping",
        },
        "data": json.dumps({"opaque": opaque}),
    }


def disconnect_frame(reason: str, now_ms: int) -> dict[str, Any]:
    """A SYSTEM disconnect (§1.3); the doc's example carries no messageId."""
    return {
        "specVersion": "1.0",
        "type": "SYSTEM",
        "headers": {"contentType": "application/json", "time": str(now_ms), "topic": "disconnect"},
        "data": json.dumps({"reason": reason}),
    }


@dataclass(frozen=True)
class Sender:
    """Who sends a bot message."""

    user_id: str
    nick: str
    admin: bool


def bot_message(
    org: Org,
    sender: Sender,
    *,
    msg_id: str,
    conversation_id: str,
    now_ms: int,
    webhook: str,
    body: dict[str, Any],
    group_title: str | None = None,
    at_users: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The decoded `data` of a `/v1.0/im/bot/messages/get` callback (§2).

    `body` holds `msgtype` plus `text` or `content`; a group message (group_title given) also
    carries conversationTitle, atUsers and isInAtList, which 1:1 examples do not have.
    """
    data: dict[str, Any] = {"conversationId": conversation_id}
    if group_title is not None:
        data["atUsers"] = at_users or []
    data.update(
        {
            "chatbotCorpId": org.corp_id,
            "chatbotUserId": org.chatbot_user_id,
            "msgId": msg_id,
            "senderNick": sender.nick,
            "isAdmin": sender.admin,
            "senderStaffId": sender.user_id,
            "sessionWebhookExpiredTime": now_ms + SESSION_TTL * 1000,
            "createAt": now_ms,
            "senderCorpId": org.corp_id,
            "conversationType": "2" if group_title is not None else "1",
            "senderId": encrypted_id("user", sender.user_id),
            "sessionWebhook": webhook,
            "robotCode": org.robot_code,
        }
    )
    if group_title is not None:
        data["conversationTitle"] = group_title
        data["isInAtList"] = True
    data.update(body)
    return data


def card_callback(
    org: Org,
    *,
    user_id: str,
    out_track_id: str,
    space_id: str,
    space_type: str,
    user_id_type: int,
    action_id: str,
    params: dict[str, str],
) -> dict[str, Any]:
    """The decoded `data` of a `/v1.0/card/instances/callback` frame (§3)."""
    private = json.dumps(
        {"cardPrivateData": {"actionIds": [action_id], "params": params}}, ensure_ascii=False
    )
    return {
        "extension": "{}",
        "corpId": org.corp_id,
        "spaceType": space_type,
        "userIdType": user_id_type,
        "type": "actionCallback",
        "userId": user_id,
        "spaceId": space_id,
        "outTrackId": out_track_id,
        "content": private,
        "value": private,
    }
