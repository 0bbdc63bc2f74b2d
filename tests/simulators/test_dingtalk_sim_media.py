"""The DingTalk simulator's old-API media upload and the media it serves back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from bot.simulators.dingtalk import DingTalkSimulator

APP_KEY, APP_SECRET = "dingsimmedia", "sim-media-secret"


@pytest.fixture()
def sim() -> Iterator[DingTalkSimulator]:
    s = DingTalkSimulator(client_id=APP_KEY, client_secret=APP_SECRET, seed=5, tick_interval=3600)
    s.start()
    yield s
    s.stop()


def _token(sim: DingTalkSimulator) -> str:
    body = {"appKey": APP_KEY, "appSecret": APP_SECRET}
    resp = requests.post(sim.endpoint + "/v1.0/oauth2/accessToken", json=body, timeout=5)
    return str(resp.json()["accessToken"])


def _upload(sim: DingTalkSimulator, token: str | None, kind: str, files: dict | None) -> dict:
    params = {"type": kind, **({"access_token": token} if token else {})}
    resp = requests.post(sim.endpoint + "/media/upload", params=params, files=files, timeout=5)
    assert resp.status_code == 200  # the old API answers errors with errcode, HTTP 200
    data: dict = resp.json()
    return data


def test_upload_answers_a_media_id_and_serves_the_bytes(sim: DingTalkSimulator) -> None:
    data = _upload(sim, _token(sim), "image", {"media": ("p.png", b"\x89PNG-bytes", "image/png")})
    assert data["errcode"] == 0 and data["type"] == "image" and data["media_id"].startswith("@")
    served = requests.get(f"{sim.endpoint}/_sim/media/{data['media_id']}", timeout=5)
    assert served.content == b"\x89PNG-bytes" and served.headers["Content-Type"] == "image/png"
    assert sim.media(data["media_id"]) == b"\x89PNG-bytes"


def test_upload_errors_are_old_api_errcodes(sim: DingTalkSimulator) -> None:
    media = {"media": ("p.png", b"12345678", "image/png")}
    assert _upload(sim, None, "image", media)["errcode"] == 40014
    assert _upload(sim, "not-a-token", "image", media)["errcode"] == 40014
    token = _token(sim)
    assert _upload(sim, token, "sticker", media)["errcode"] == 40004
    assert _upload(sim, token, "image", {"other": ("p.png", b"x", "image/png")})["errcode"] == 41005
    assert requests.get(f"{sim.endpoint}/_sim/media/@nothing", timeout=5).status_code == 404
