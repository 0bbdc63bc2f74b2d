"""The old-API media upload (`POST oapi /media/upload`) and the media it keeps (sim side).

Protocol facts in docs/dingtalk-media.md. Sim choices where the reference is silent: errors are
HTTP 200 with `errcode`/`errmsg` like every old `oapi` API; missing or unknown access_token →
40014 (its "不合法的access_token"); a bad `type` → 40004; no `media` part → 41005 (WeCom-family
codes the old DingTalk API shares); more than 20 MB → 40006. Media ids look like DingTalk's
(`@lA…`). A robot message naming a media id that was never uploaded is refused as a bad
msgParam.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MEDIA_TYPES = ("image", "voice", "video", "file")
MAX_BYTES = 20 * 1024 * 1024
INVALID_TOKEN = 40014
INVALID_TYPE = 40004
MISSING_MEDIA = 41005
TOO_LARGE = 40006


@dataclass(frozen=True)
class Media:
    """One uploaded file."""

    media_id: str
    media_type: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class MediaStore:
    """Uploaded media by id, served back at `/_sim/media/<id>`."""

    items: dict[str, Media] = field(default_factory=dict)

    def put(self, media: Media) -> None:
        """Keep an uploaded file."""
        self.items[media.media_id] = media

    def get(self, media_id: str) -> Media | None:
        """A file by media id."""
        return self.items.get(media_id)


def error(errcode: int, errmsg: str) -> dict[str, Any]:
    """An old-API error body (HTTP 200)."""
    return {"errcode": errcode, "errmsg": errmsg}


def ok(media: Media, now_ms: int) -> dict[str, Any]:
    """The documented success body."""
    return {
        "errcode": 0,
        "errmsg": "ok",
        "type": media.media_type,
        "media_id": media.media_id,
        "created_at": now_ms,
    }


def media_refs(msg_key: str, param: dict[str, Any]) -> list[str]:
    """Media ids a robot message names (photoURL may also be a plain URL)."""
    if msg_key == "sampleImageMsg":
        url = str(param.get("photoURL") or "")
        return [] if url.startswith(("http://", "https://")) else [url]
    if msg_key in ("sampleFile", "sampleAudio"):
        return [str(param.get("mediaId") or "")]
    if msg_key == "sampleVideo":
        return [str(param.get("videoMediaId") or ""), str(param.get("picMediaId") or "")]
    return []
