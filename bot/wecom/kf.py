"""kf intake: pull messages with sync_msg after a kf_msg_or_event, and turn them into events.

One puller per kf account at a time (a Redis lock), the cursor kept in the database per
open_kfid, a loop while `has_more`. Media is downloaded before the page's transaction; then one
short transaction records every message of the page as its own inbox row (`wecom_kf_msg`,
keyed by msgid, so a message pulled twice is recorded once) in page order, which is WeCom's
order, under its conversation (`kf:<open_kfid>:<external_userid>`); it saves the cursor and, on
the last page, marks the callback's row done. The rows' conversations are woken after the
commit; each conversation's rows are then processed in inbox id order, i.e. platform order.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.pipeline.registry import SendError
from bot.pipeline.wake import wake
from bot.runtime import Runtime
from bot.wecom.callbacks import KF_EVENT_SOURCE, KF_MSG_SOURCE, text_of
from bot.wecom.client import WeComApi
from bot.wecom.crypto import parse_inner
from handlers.events import ConstituentEntered, ConstituentMessage, DeliveryFailed, InboundEvent
from storage.inbox import lock_pending, mark_done, record_inbound
from storage.models import InboxItem, KeyValue
from storage.timeutil import utcnow

log = logging.getLogger(__name__)

SYNC_LIMIT = 1000
LOCK_TTL = 120.0  # seconds; extended on every page
LOCK_WAIT = 15.0  # how long a second puller waits before its job is retried
MEDIA_TYPES = ("image", "voice", "video", "file")
MEDIA_KEY = "lianxin_media_path"  # added to a message's JSON once its media is kept
MEDIA_ERROR_KEY = "lianxin_media_error"
INVALID_TOKEN = 95007
CHANNEL: Final = "wecom_kf"
_SAFE = re.compile(r"[^0-9A-Za-z_-]")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "audio/amr": ".amr"}


def cursor_key(open_kfid: str) -> str:
    """The KeyValue key holding the sync_msg cursor of one kf account."""
    return f"wecom:kf_cursor:{open_kfid}"


class PullBusy(Exception):
    """Another worker is pulling this kf account; the job is retried later."""


def pull(rt: Runtime, inbox_id: int) -> None:
    """Process one `wecom_kf_event` row: pull every new message of its kf account."""
    with rt.sessions() as session:
        item = session.get(InboxItem, inbox_id)
        if item is None or item.status != "pending":
            return
        inner = parse_inner(item.payload)
    open_kfid = text_of(inner, "OpenKfId") or rt.settings.wecom.open_kfid
    token = text_of(inner, "Token")
    api = WeComApi(rt)
    lock_name = f"{rt.settings.redis.queue_prefix}:wecom:kf_sync:{open_kfid}"
    # never held longer than the inbox lease: a puller killed mid-pull loses its row's lease
    # and its lock alike, so the next claim of the row can pull (the lock is renewed per page)
    lease = rt.settings.queue.lease_seconds
    lock = rt.redis.lock(
        lock_name, timeout=min(LOCK_TTL, lease), blocking_timeout=min(LOCK_WAIT, lease)
    )
    if not lock.acquire():
        raise PullBusy(f"kf account {open_kfid} is being pulled by another worker")
    try:
        if _still_pending(rt, inbox_id):  # the puller before us may have covered this callback
            _pull_pages(rt, api, inbox_id, open_kfid, token, lock)
    finally:
        try:
            lock.release()
        except Exception:  # expired: the next puller may already hold it
            log.warning("kf sync lock for %s expired before release", open_kfid)


def _still_pending(rt: Runtime, inbox_id: int) -> bool:
    with rt.sessions() as session:
        item = session.get(InboxItem, inbox_id)
        return item is not None and item.status == "pending"


def _pull_pages(
    rt: Runtime, api: WeComApi, inbox_id: int, open_kfid: str, token: str, lock: Any
) -> None:
    started = utcnow()
    while True:
        cursor = _read_cursor(rt, open_kfid)
        page, token = _sync_page(api, open_kfid, cursor, token)
        messages = [_keep_media(rt, api, m) for m in page.get("msg_list") or []]
        last = not page.get("has_more")
        lock.reacquire()  # we still hold it (raises if it was lost): the cursor is ours to move
        next_cursor = str(page.get("next_cursor") or cursor)
        new = _commit_page(
            rt, inbox_id, open_kfid, next_cursor, messages, started if last else None
        )
        wake(rt, new)
        log.info("kf %s: page of %s message(s), %s new", open_kfid, len(messages), len(new))
        if last:
            return


def _sync_page(
    api: WeComApi, open_kfid: str, cursor: str, token: str
) -> tuple[dict[str, Any], str]:
    body = {
        "cursor": cursor,
        "token": token,
        "limit": SYNC_LIMIT,
        "voice_format": 0,
        "open_kfid": open_kfid,
    }
    try:
        return api.post("kf/sync_msg", body), token
    except SendError as exc:
        if exc.code != INVALID_TOKEN or not token:
            raise
    # the callback's token lasts 10 minutes; a late retry pulls without it (rate-limited)
    log.info("kf callback token expired; pulling %s without it", open_kfid)
    return api.post("kf/sync_msg", {**body, "token": ""}), ""


def _read_cursor(rt: Runtime, open_kfid: str) -> str:
    with rt.sessions() as session:
        row = session.get(KeyValue, cursor_key(open_kfid))
        return row.value if row else ""


def _commit_page(
    rt: Runtime,
    inbox_id: int,
    open_kfid: str,
    next_cursor: str,
    messages: list[dict[str, Any]],
    covered_until: datetime | None,
) -> list[str]:
    """Record a page and move the cursor; on the last page (`covered_until` set) mark this
    callback done, and with it every other callback of the account received before the pull
    started: WeCom had their messages before we asked, so this pull fetched them too.
    Returns the conversations of the new rows, in page order."""
    woken: list[str] = []
    with rt.sessions() as session, session.begin():
        for message in messages:
            msgid = str(message.get("msgid") or "")
            if not msgid:
                log.warning("kf message without msgid skipped")
                continue
            payload = json.dumps(message, ensure_ascii=False)
            conversation = conversation_of(message, open_kfid)
            new_id = record_inbound(
                session,
                source=KF_MSG_SOURCE,
                key=msgid[:160],
                payload=payload,
                conversation=conversation,
            )
            if new_id is not None:
                woken.append(conversation)
        _save_cursor(session, open_kfid, next_cursor)
        if covered_until is not None:
            item = lock_pending(session, inbox_id)
            if item is not None:
                mark_done(item)
            _mark_covered(session, open_kfid, covered_until)
    return woken


def conversation_of(message: dict[str, Any], open_kfid: str) -> str:
    """The inbox conversation of a pulled message: its constituent at its kf account."""
    event = message.get("event") if isinstance(message.get("event"), dict) else {}
    assert isinstance(event, dict)
    external_id = str(message.get("external_userid") or event.get("external_userid") or "")
    account = str(message.get("open_kfid") or event.get("open_kfid") or open_kfid)
    if not external_id:  # nobody to keep in order with: a conversation of its own
        return f"kfmsg:{message.get('msgid')}"[:200]
    return f"kf:{account}:{external_id}"[:200]


def _mark_covered(session: Session, open_kfid: str, until: datetime) -> None:
    covered = (
        update(InboxItem)
        .where(
            InboxItem.source == KF_EVENT_SOURCE,
            InboxItem.status == "pending",
            InboxItem.key.startswith(f"{open_kfid}:", autoescape=True),
            InboxItem.received_at <= until,
        )
        .values(status="done", processed_at=utcnow())
    )
    count = session.execute(covered).rowcount  # type: ignore[attr-defined]
    if count:
        log.info("kf %s: %s more callback(s) covered by this pull", open_kfid, count)


def _save_cursor(session: Session, open_kfid: str, cursor: str) -> None:
    row = session.get(KeyValue, cursor_key(open_kfid), with_for_update=True)
    if row is None:
        session.add(KeyValue(key=cursor_key(open_kfid), value=cursor))
    else:
        row.value = cursor


# ---------------------------------------------------------------- media


def media_dir(rt: Runtime) -> Path:
    """Where kf images and voice notes are kept."""
    return rt.settings.var_dir / "media" / "kf"


def _keep_media(rt: Runtime, api: WeComApi, message: dict[str, Any]) -> dict[str, Any]:
    msgtype = message.get("msgtype")
    if msgtype not in MEDIA_TYPES:
        return message
    body = message.get(str(msgtype)) or {}
    media_id = str(body.get("media_id") or "")
    msgid = _SAFE.sub("_", str(message.get("msgid") or ""))[:100]
    if not media_id or not msgid:
        return {**message, MEDIA_ERROR_KEY: "no media_id"}
    folder = media_dir(rt)
    existing = sorted(folder.glob(f"{msgid}.*")) if folder.exists() else []
    if existing:  # kept by an earlier attempt at this page
        return {**message, MEDIA_KEY: str(existing[0].resolve())}
    try:
        media = api.download(media_id)
    except SendError as exc:
        if exc.retryable:
            raise  # the page is pulled again later; its cursor has not moved
        log.warning("kf %s: media %s not kept: %s", msgid, msgtype, exc.describe())
        return {**message, MEDIA_ERROR_KEY: exc.describe()}
    path = folder / f"{msgid}{_extension(media.content_type, media.filename, str(msgtype))}"
    _write_atomically(path, media.data)
    return {**message, MEDIA_KEY: str(path.resolve())}


def _extension(content_type: str, filename: str, msgtype: str) -> str:
    if content_type in _EXTENSIONS:
        return _EXTENSIONS[content_type]
    suffix = Path(filename).suffix
    if suffix and re.fullmatch(r"\.[0-9A-Za-z]{1,8}", suffix):
        return suffix.lower()
    guessed = mimetypes.guess_extension(content_type) or ""
    return guessed or {"voice": ".amr", "image": ".jpg", "video": ".mp4"}.get(msgtype, ".bin")


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# ---------------------------------------------------------------- translation


def sent_at_of(message: dict[str, Any]) -> datetime:
    """The message's send_time as aware UTC."""
    try:
        return datetime.fromtimestamp(int(message.get("send_time") or 0), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.fromtimestamp(0, UTC)


def to_event(message: dict[str, Any]) -> InboundEvent | None:
    """The neutral event for one pulled kf message, or None when handlers need not see it."""
    msgid = str(message.get("msgid") or "")
    if message.get("msgtype") == "event":
        return _event(message, msgid)
    if message.get("origin", 3) != 3:  # 5 = a servicer in the WeCom client, not the customer
        return None
    external_id = str(message.get("external_userid") or "")
    if not external_id or not msgid:
        return None
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "external_id": external_id,
        "platform_id": msgid,
        "sent_at": sent_at_of(message),
        "open_kfid": message.get("open_kfid") or None,
    }
    return ConstituentMessage(**common, **_content(message))


def _content(message: dict[str, Any]) -> dict[str, Any]:
    msgtype = str(message.get("msgtype") or "")
    body = message.get(msgtype) if isinstance(message.get(msgtype), dict) else {}
    assert isinstance(body, dict)
    if msgtype == "text":
        menu_id = body.get("menu_id")
        text = str(body.get("content") or "")
        if menu_id:
            return {"kind": "menu", "text": text, "menu_id": str(menu_id)}
        return {"kind": "text", "text": text}
    if msgtype in MEDIA_TYPES:
        return {"kind": msgtype, "media_path": message.get(MEDIA_KEY)}
    if msgtype == "location":
        return _location(body)
    if msgtype == "link":
        parts = (body.get("title"), body.get("desc"), body.get("url"))
        return {"kind": "other", "text": " ".join(str(p) for p in parts if p)}
    return {"kind": "other", "text": ""}


def _location(body: dict[str, Any]) -> dict[str, Any]:
    try:
        lat, lng = float(body["latitude"]), float(body["longitude"])
    except (KeyError, TypeError, ValueError):
        return {"kind": "other", "text": ""}
    label = " ".join(str(body[k]) for k in ("name", "address") if body.get(k)) or None
    return {"kind": "location", "lat": lat, "lng": lng, "location_label": label}


def _event(message: dict[str, Any], msgid: str) -> InboundEvent | None:
    event = message.get("event") if isinstance(message.get("event"), dict) else None
    if event is None or not msgid:
        return None
    kind = event.get("event_type")
    external_id = str(event.get("external_userid") or "")
    if not external_id:
        return None
    if kind == "enter_session":
        return ConstituentEntered(
            channel=CHANNEL,
            external_id=external_id,
            platform_id=msgid,
            sent_at=sent_at_of(message),
            open_kfid=event.get("open_kfid") or None,
            scene=str(event.get("scene") or ""),
            scene_param=str(event.get("scene_param") or ""),
            welcome_code=event.get("welcome_code") or None,
        )
    if kind == "msg_send_fail":
        fail_type = event.get("fail_type")
        return DeliveryFailed(
            channel=CHANNEL,
            external_id=external_id,
            platform_id=msgid,
            failed_msgid=str(event.get("fail_msgid") or ""),
            fail_type=int(fail_type)
            if isinstance(fail_type, int | str) and str(fail_type).isdigit()
            else None,
        )
    return None
