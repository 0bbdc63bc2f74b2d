"""Clock, access tokens, media and fault injection shared by the WeCom simulator."""

from __future__ import annotations

import mimetypes
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.simulators.wecom import errors
from bot.simulators.wecom.errors import ApiError

TOKEN_TTL = 7200
MEDIA_TTL = 3 * 24 * 3600
MEDIA_MIN_BYTES = 6  # WeCom: every file must be larger than 5 bytes
MEDIA_MAX_BYTES = {
    "image": 10 * 1024 * 1024,
    "voice": 2 * 1024 * 1024,
    "video": 10 * 1024 * 1024,
    "file": 20 * 1024 * 1024,
}

TINY_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\xdac8!'\x07\x00\x02\xb6\x01\x05\n[\xa6\x06\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)
# AMR-NB magic plus ten silent 12.2 kbit/s frames (0x3C header, 31 payload bytes each)
TINY_AMR = b"#!AMR\n" + (b"\x3c" + bytes(31)) * 10


def normalize_path(path: str) -> str:
    """`/cgi-bin/kf/send_msg`, `cgi-bin/kf/send_msg` and `kf/send_msg` all become the last form."""
    path = path.strip().lstrip("/")
    if path.startswith("cgi-bin/"):
        path = path[len("cgi-bin/") :]
    return path.split("?", 1)[0]


class SimClock:
    """An injectable base clock plus a time-travel offset."""

    def __init__(self, base: Callable[[], float]) -> None:
        self._base = base
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current simulator time in epoch seconds."""
        with self._lock:
            return self._base() + self._offset

    def advance(self, seconds: float) -> None:
        """Move simulator time forward."""
        if seconds < 0:
            raise ValueError("the simulator clock only moves forward")
        with self._lock:
            self._offset += seconds


class TokenStore:
    """access_token issue and validation (gettoken, 41001/40014/42001)."""

    def __init__(self, clock: SimClock, corp_id: str, secret: str) -> None:
        self._clock = clock
        self._corp_id = corp_id
        self._secret = secret
        self._expires_at: dict[str, float] = {}

    def issue(self, corpid: str | None, corpsecret: str | None) -> dict[str, object]:
        """Answer gettoken; every call issues a new token and earlier ones stay valid."""
        if not corpid:
            raise ApiError(errors.MISSING_CORPID, "corpid missing")
        if corpid != self._corp_id:
            raise ApiError(errors.INVALID_CORPID)
        if not corpsecret:
            raise ApiError(errors.MISSING_SECRET, "corpsecret missing")
        if corpsecret != self._secret:
            raise ApiError(errors.INVALID_SECRET)
        token = secrets.token_urlsafe(48)
        self._expires_at[token] = self._clock.now() + TOKEN_TTL
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_TTL}

    def check(self, token: str | None) -> None:
        """Raise the error WeCom gives for a missing, unknown or expired token."""
        if not token:
            raise ApiError(errors.MISSING_ACCESS_TOKEN)
        expires_at = self._expires_at.get(token)
        if expires_at is None:
            raise ApiError(errors.INVALID_ACCESS_TOKEN)
        if self._clock.now() >= expires_at:
            raise ApiError(errors.ACCESS_TOKEN_EXPIRED)

    def expire_all(self) -> None:
        """Invalidate every issued token (they answer 42001 from now on)."""
        for token in self._expires_at:
            self._expires_at[token] = float("-inf")


@dataclass
class Media:
    """One uploaded (or user-sent) temporary media file."""

    media_id: str
    type: str
    data: bytes
    filename: str
    content_type: str
    created_at: float


def sniff_content_type(data: bytes, filename: str) -> str:
    """Guess a content type from magic bytes, then from the file name."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"#!AMR"):
        return "audio/amr"
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


class MediaStore:
    """Temporary media (media/upload, media/get): valid 3 days."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._media: dict[str, Media] = {}

    def put(self, media_type: str, data: bytes, filename: str = "") -> Media:
        """Store bytes under a fresh media_id, enforcing WeCom's type and size rules."""
        if media_type not in MEDIA_MAX_BYTES:
            raise ApiError(errors.INVALID_TYPE_PARAM, f"invalid media type {media_type!r}")
        if not data:
            raise ApiError(errors.MISSING_MEDIA_DATA, "media data missing")
        if not MEDIA_MIN_BYTES <= len(data) <= MEDIA_MAX_BYTES[media_type]:
            raise ApiError(errors.INVALID_FILE_SIZE, f"invalid file size {len(data)}")
        media_id = "3" + secrets.token_urlsafe(40).replace("-", "x").replace("_", "y")
        filename = filename or f"{media_id[:12]}.{_default_ext(media_type, data)}"
        media = Media(
            media_id=media_id,
            type=media_type,
            data=data,
            filename=filename,
            content_type=sniff_content_type(data, filename),
            created_at=self._clock.now(),
        )
        self._media[media_id] = media
        return media

    def get(self, media_id: str | None) -> Media:
        """The media for an id, or 40007 when unknown or older than 3 days."""
        media = self._media.get(media_id or "")
        if media is None or self._clock.now() - media.created_at > MEDIA_TTL:
            raise ApiError(errors.INVALID_MEDIA_ID, f"invalid media_id {media_id!r}")
        return media


def _default_ext(media_type: str, data: bytes) -> str:
    ext = (mimetypes.guess_extension(sniff_content_type(data, "")) or "").lstrip(".")
    return ext or {"image": "png", "voice": "amr", "video": "mp4"}.get(media_type, "bin")


class FaultPlan:
    """Injected errcodes, HTTP statuses and latency, per API path."""

    def __init__(self) -> None:
        self._errcodes: dict[str, deque[int]] = {}
        self._statuses: dict[str, deque[int]] = {}
        self._latency: dict[str, float] = {}
        self._lock = threading.Lock()

    def inject_errcode(self, path: str, errcode: int, times: int) -> None:
        """Queue `times` errcode answers for the path."""
        with self._lock:
            self._errcodes.setdefault(normalize_path(path), deque()).extend([errcode] * times)

    def inject_status(self, path: str, status: int, times: int) -> None:
        """Queue `times` bare HTTP-status answers for the path."""
        with self._lock:
            self._statuses.setdefault(normalize_path(path), deque()).extend([status] * times)

    def set_latency(self, path: str, seconds: float) -> None:
        """Delay every call to the path by `seconds` before processing."""
        with self._lock:
            self._latency[normalize_path(path)] = seconds

    def latency(self, path: str) -> float:
        """Configured delay for the path (0 when none)."""
        with self._lock:
            return self._latency.get(path, 0.0)

    def take_status(self, path: str) -> int | None:
        """Consume one injected HTTP status for the path, if any."""
        with self._lock:
            queue = self._statuses.get(path)
            return queue.popleft() if queue else None

    def take_errcode(self, path: str) -> int | None:
        """Consume one injected errcode for the path, if any."""
        with self._lock:
            queue = self._errcodes.get(path)
            return queue.popleft() if queue else None
