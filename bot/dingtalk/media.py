"""A constituent's photo, voice note or file shown in DingTalk (outbox kind `media`).

The file WeCom gave us (kept under var/media/kf) is re-uploaded with `media/upload`, then
posted as a robot message into the group or 1:1 chat of the case card: a picture as
`sampleImageMsg` (`photoURL` = the media_id), anything else as `sampleFile`. Both steps run
through `once`, so a crash between them neither uploads nor posts twice. Protocol facts and
their sources: docs/dingtalk-media.md.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from bot.dingtalk.send import (
    BATCH_SEND,
    FLOW_CONTROL_DELAY,
    GROUP_SEND,
    SendContext,
    done_key,
    once,
)
from bot.registry import SendError
from storage.models import OutboxItem

UPLOAD_TYPES = {"image": "image"}  # everything else goes up as a file (voice included)


def send_media(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """Upload the kept file and post it after the case card."""
    p = item.payload
    kind, _, target = str(p["space"]).partition(":")
    if kind not in ("group", "user") or not target:
        raise SendError(f"bad media space {p['space']!r}", retryable=False)
    path = Path(str(p["path"]))
    if not path.is_file():
        raise SendError(f"media file {path.name} is gone", code="gone", retryable=False)
    media_type = UPLOAD_TYPES.get(str(p["kind"]), "file")
    name = str(p.get("file_name") or path.name)
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    data = path.read_bytes()
    uploaded = once(
        ctx,
        item,
        "upload",
        lambda: {"media_id": ctx.api.upload(media_type, name, data, mime)},
    )
    media_id = str(uploaded["media_id"])
    if media_type == "image":
        key, param = "sampleImageMsg", {"photoURL": media_id}
    else:
        ext = path.suffix.lstrip(".") or "file"
        key, param = "sampleFile", {"mediaId": media_id, "fileName": name, "fileType": ext}
    result = _post(ctx, item, kind, target, key, json.dumps(param, ensure_ascii=False))
    return {"media_id": media_id, "msgKey": key, **result}


def _post(
    ctx: SendContext, item: OutboxItem, kind: str, target: str, key: str, param: str
) -> dict[str, Any]:
    robot = ctx.api.robot_code
    if kind == "group":
        body: dict[str, Any] = {
            "robotCode": robot,
            "openConversationId": target,
            "msgKey": key,
            "msgParam": param,
        }
        resp = once(ctx, item, "post", lambda: ctx.api.call("POST", GROUP_SEND, body))
        return {"processQueryKey": resp.get("processQueryKey")}
    body = {"robotCode": robot, "userIds": [target], "msgKey": key, "msgParam": param}
    resp = once(ctx, item, "post", lambda: ctx.api.call("POST", BATCH_SEND, body))
    if target in (resp.get("flowControlledStaffIdList") or []):
        ctx.rt.redis.delete(done_key(ctx, item, "post"))  # not delivered: the retry must call
        raise SendError(
            f"user {target} is flow-controlled",
            code="flowControlled",
            retry_after=FLOW_CONTROL_DELAY,
        )
    return {"processQueryKey": resp.get("processQueryKey")}
