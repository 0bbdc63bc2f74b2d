"""Frames → inbox records → neutral events, on the documented payloads (no socket)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.dingtalk.events import (
    BOT_SOURCE,
    BOT_TOPIC,
    CARD_SOURCE,
    CARD_TOPIC,
    FrameError,
    card_action_from,
    frame_record,
    staff_text_from,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "dingtalk"


def fixture(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    data.pop("_source", None)
    return data


def headers(topic: str, message_id: str = "212ca9d7_974_1898c159aa6_1783b") -> dict[str, Any]:
    return {**fixture("server_frame.json")["headers"], "topic": topic, "messageId": message_id}


def bot(data: dict[str, Any], message_id: str = "mid-1") -> str:
    return frame_record(headers(BOT_TOPIC, message_id), json.dumps(data)).payload


def test_group_text_becomes_staff_text_keyed_by_msg_id() -> None:
    data = fixture("group_text_callback.json")
    record = frame_record(headers(BOT_TOPIC), json.dumps(data, ensure_ascii=False))
    assert (record.source, record.key) == (BOT_SOURCE, "msgLICYexxxx==")
    event = staff_text_from(record.payload)
    assert event is not None
    assert event.platform == "dingtalk" and event.user_id == "16650xxx698"
    assert event.text == "测试数据"  # the leading space left by the removed @bot is gone
    assert event.conversation_type == "group" and event.conversation_id == "cidAsXSBLnA=="
    assert event.sender_name == "用户" and event.platform_id == "msgLICYexxxx=="
    assert event.reply_webhook == data["sessionWebhook"]
    assert event.reply_webhook_expires_at == datetime.fromtimestamp(1690367502.152, UTC)
    assert event.sent_at == datetime.fromtimestamp(1690362101.894, UTC)
    # one sender in one chat is one inbox conversation, handled in order
    assert record.conversation == "dt:cidAsXSBLnA==:16650xxx698"


def test_private_text_and_fallback_key() -> None:
    data = fixture("group_text_callback.json")
    for key in ("conversationTitle", "atUsers", "isInAtList", "msgId"):
        data.pop(key)
    data["conversationType"] = "1"
    record = frame_record(headers(BOT_TOPIC, "mid-fallback"), data)  # already decoded by the SDK
    assert record.key == "mid-fallback"
    event = staff_text_from(record.payload)
    assert event is not None and event.conversation_type == "private"
    assert event.platform_id == "mid-fallback"


@pytest.mark.parametrize(
    ("body", "text", "attachments"),
    [
        (
            {"msgtype": "picture", "content": {"pictureDownloadCode": "p", "downloadCode": "dc1"}},
            "",
            ("dc1",),
        ),
        (
            {"msgtype": "audio", "content": {"downloadCode": "dc2", "recognition": "待办"}},
            "待办",
            ("dc2",),
        ),
        (
            {
                "msgtype": "file",
                "content": {
                    "spaceId": "1",
                    "fileName": "a.pdf",
                    "downloadCode": "dc3",
                    "fileId": "9",
                },
            },
            "",
            ("dc3",),
        ),
        (
            {
                "msgtype": "richText",
                "content": {
                    "richText": [
                        {"text": "#12 回复 "},
                        {"downloadCode": "dc4", "type": "picture"},
                        {"text": "见图"},
                    ]
                },
            },
            "#12 回复 见图",
            ("dc4",),
        ),
        ({"msgtype": "unknownMsgType", "content": {"unknownMsgType": "x"}}, "", ()),
    ],
)
def test_media_messages_carry_download_codes(
    body: dict[str, Any], text: str, attachments: tuple[str, ...]
) -> None:
    data = {**fixture("group_text_callback.json"), **body}
    data.pop("text", None)
    event = staff_text_from(bot(data))
    assert event is not None and event.text == text and event.attachments == attachments


def test_unusable_bot_messages_are_refused_or_ignored() -> None:
    with pytest.raises(FrameError):
        frame_record(headers(BOT_TOPIC), "not json")
    with pytest.raises(FrameError):
        frame_record(headers(BOT_TOPIC), "[1, 2]")
    with pytest.raises(FrameError):
        frame_record(headers(BOT_TOPIC), {"msgId": "m"})  # no msgtype
    with pytest.raises(FrameError):
        frame_record(headers(BOT_TOPIC, ""), {"msgtype": "text"})  # no key at all
    with pytest.raises(FrameError):
        frame_record(headers("/v1.0/unknown"), {"msgtype": "text"})
    external = {**fixture("group_text_callback.json")}
    external.pop("senderStaffId")  # an external contact in the group: recorded, then ignored
    assert staff_text_from(bot(external)) is None


def test_card_callback_becomes_card_action_keyed_by_message_id() -> None:
    data = fixture("card_callback.json")
    params = {"action": "claim", "case_id": "123", "extra": {"k": 1}}
    data["content"] = json.dumps({"cardPrivateData": {"actionIds": ["b"], "params": params}})
    record = frame_record(headers(CARD_TOPIC, "card-mid"), json.dumps(data))
    assert (record.source, record.key) == (CARD_SOURCE, "card-mid")
    event = card_action_from(record.payload)
    assert event is not None
    assert (event.user_id, event.card_id, event.action) == ("xxxx", "xxxx", "claim")
    assert event.params == {"action": "claim", "case_id": "123", "extra": '{"k": 1}'}
    assert event.conversation_id == "cidxxxx" and event.platform_id == "card-mid"


@pytest.mark.parametrize("drop", ["outTrackId", "userId", "content"])
def test_card_callback_missing_fields_is_refused(drop: str) -> None:
    data = fixture("card_callback.json")
    data.pop(drop)
    if drop == "content":
        data.pop("value")
    with pytest.raises(FrameError):
        frame_record(headers(CARD_TOPIC), data)


def test_card_callback_without_action_is_refused() -> None:
    data = fixture("card_callback.json")
    data["content"] = data["value"] = json.dumps({"cardPrivateData": {"params": {"x": "1"}}})
    with pytest.raises(FrameError):
        frame_record(headers(CARD_TOPIC), data)
