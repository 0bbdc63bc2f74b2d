"""A constituent's photo or voice note reaches DingTalk: uploaded, then posted after the card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.dingtalk.api import ApiConfig, ApiError, DingTalkApi
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from bot.simulators.wecom.support import TINY_PNG
from handlers.notices import ToDingTalkMedia
from storage.models import OutboxItem
from tests.bot.dingtalk.conftest import GROUP, Directory, open_case
from tests.bot.dingtalk.test_send import queue, rows
from tests.support import drain


def _robot(entries: list[dict[str, Any]], msgtype: str) -> list[dict[str, Any]]:
    return [e for e in entries if e.get("sender") == "robot" and e.get("msgtype") == msgtype]


def _api(rt: Runtime) -> DingTalkApi:
    cfg = ApiConfig.from_settings(rt.settings.dingtalk, rt.settings.redis.queue_prefix)
    return DingTalkApi(rt.redis, cfg)


def test_a_photo_is_uploaded_and_shown_under_the_card(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, tmp_path: Path
) -> None:
    n = open_case(rt)
    photo = tmp_path / "wx-photo.png"
    photo.write_bytes(TINY_PNG)
    queue(rt, ToDingTalkMedia(n, f"group:{GROUP}", "image", str(photo)))
    drain(rt)
    group = sim.group_view(GROUP)
    [shown] = _robot(group, "sampleImageMsg")
    media_id = shown["body"]["photoURL"]
    assert media_id.startswith("@") and sim.media(media_id) == TINY_PNG
    # the picture comes after the case's card in the group
    kinds = [e["kind"] if e["kind"] == "card" else e.get("msgtype") for e in group]
    assert kinds.index("sampleImageMsg") > max(
        i for i, k in enumerate(kinds) if k in ("card", "sampleMarkdown")
    )
    [row] = [r for r in rows(rt) if r.kind == "media"]
    assert row.status == "sent" and row.result and row.result["media_id"] == media_id


def test_a_voice_note_is_a_file_in_the_1_1_chat(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, tmp_path: Path
) -> None:
    n = open_case(rt)
    voice = tmp_path / "kfmsg.amr"
    voice.write_bytes(b"#!AMR\n" + bytes(64))
    queue(rt, ToDingTalkMedia(n, "user:u-zhang", "voice", str(voice), file_name=f"语音-{n}.amr"))
    drain(rt)
    [shown] = _robot(sim.private_view("u-zhang"), "sampleFile")
    assert shown["body"]["fileName"] == f"语音-{n}.amr" and shown["body"]["fileType"] == "amr"
    assert sim.media(shown["body"]["mediaId"]) == voice.read_bytes()


def test_an_expired_token_is_refreshed_once_for_the_upload(
    rt: Runtime, sim: DingTalkSimulator
) -> None:
    api = _api(rt)
    first = api.upload("image", "a.png", TINY_PNG, "image/png")
    sim.expire_tokens()
    second = api.upload("image", "b.png", TINY_PNG, "image/png")
    assert first != second and sim.media(second) == TINY_PNG
    tokens = [c for c in sim.calls if c[1] == "/v1.0/oauth2/accessToken"]
    assert len(tokens) == 2


def test_bad_uploads_and_unknown_media_are_refused(rt: Runtime, sim: DingTalkSimulator) -> None:
    api = _api(rt)
    with pytest.raises(ApiError) as bad_type:
        api.upload("sticker", "a.png", TINY_PNG, "image/png")
    assert bad_type.value.code == "40004" and not bad_type.value.retryable
    with pytest.raises(ApiError) as unknown:
        api.call(
            "POST",
            "/v1.0/robot/groupMessages/send",
            {
                "robotCode": api.robot_code,
                "openConversationId": GROUP,
                "msgKey": "sampleImageMsg",
                "msgParam": '{"photoURL": "@lAnever-uploaded"}',
            },
        )
    assert unknown.value.status == 400


def test_a_file_that_is_gone_fails_the_row_without_retrying(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, tmp_path: Path
) -> None:
    n = open_case(rt)
    queue(rt, ToDingTalkMedia(n, f"group:{GROUP}", "image", str(tmp_path / "missing.png")))
    drain(rt)
    [row] = [r for r in rows(rt) if r.kind == "media"]
    assert row.status == "failed" and "gone" in (row.last_error or "")
    assert isinstance(row, OutboxItem)
