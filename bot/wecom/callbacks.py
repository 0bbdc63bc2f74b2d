"""What an authenticated callback is: its inbox source and dedupe key, and its passive reply.

kf callbacks carry no message, only a Token for sync_msg: they become a `wecom_kf_event` row
keyed by the Token (WeCom's retries repeat it). App callbacks become `wecom_app` rows keyed by
MsgId, or by sender + time + event (+ card task and button) for events, which have no MsgId.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

KF_EVENT_SOURCE = "wecom_kf_event"
KF_MSG_SOURCE = "wecom_kf_msg"
APP_SOURCE = "wecom_app"
CARD_ACK_LABEL = "已提交"  # what a clicked button turns into until the result arrives
_KEY_MAX = 160


@dataclass(frozen=True)
class Classified:
    """Where an authenticated callback goes: inbox source and key, and a reply (or none)."""

    source: str
    key: str
    payload: str  # the decrypted inner XML, recorded as received
    reply_xml: str | None = None
    conversation: str | None = None  # None: a conversation of its own


def text_of(inner: dict[str, Any], name: str) -> str:
    """A field of the inner XML as text ('' when missing or not a leaf)."""
    value = inner.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("#text"), str):
        return str(value["#text"])
    return ""


def classify(inner: dict[str, Any], corp_id: str, plaintext: str) -> Classified:
    """The inbox row and the passive reply for a decrypted callback.

    Every authentic callback is recorded: a shape we do not know is keyed by the hash of its
    plaintext (WeCom's retries repeat it byte for byte) and left to the processor to judge.
    """
    msg_type = text_of(inner, "MsgType")
    event = text_of(inner, "Event")
    fallback = "raw:" + hashlib.sha1(plaintext.encode("utf-8")).hexdigest()
    if msg_type == "event" and event == "kf_msg_or_event":
        open_kfid, token = text_of(inner, "OpenKfId"), text_of(inner, "Token")
        key = f"{open_kfid}:{token}" if open_kfid and token else fallback
        # one account's pulls in callback order (the first pull usually covers the rest)
        pulls = f"kfpull:{open_kfid}" if open_kfid else None
        return Classified(KF_EVENT_SOURCE, _bounded(key), plaintext, conversation=pulls)
    sender = text_of(inner, "FromUserName")
    member = f"app:{sender}"[:200] if sender else None
    if msg_type != "event":
        msg_id = text_of(inner, "MsgId")
        key = f"msg:{msg_id}" if msg_id else fallback
        return Classified(APP_SOURCE, _bounded(key), plaintext, conversation=member)
    parts = ["ev", sender, text_of(inner, "CreateTime"), event]
    reply = None
    if event == "template_card_event":
        parts += [text_of(inner, "TaskId"), text_of(inner, "EventKey")]
        if text_of(inner, "CardType") == "button_interaction" and sender:
            reply = update_button_xml(sender, corp_id, CARD_ACK_LABEL)
    return Classified(APP_SOURCE, _bounded(":".join(parts)), plaintext, reply, member)


def _bounded(key: str) -> str:
    # the inbox key column holds 160 characters; a longer key is cut and made unique again
    if len(key) <= _KEY_MAX:
        return key
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()
    return key[: _KEY_MAX - 41] + "~" + digest


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def update_button_xml(userid: str, corp_id: str, label: str) -> str:
    """The passive reply that greys out the clicked button with `label` (WeCom 90241)."""
    return (
        f"<xml><ToUserName>{_cdata(userid)}</ToUserName>"
        f"<FromUserName>{_cdata(corp_id)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>{_cdata('update_button')}</MsgType>"
        f"<Button><ReplaceName>{_cdata(label)}</ReplaceName></Button></xml>"
    )
