"""Outbox senders: kf messages to constituents (`wecom_kf`) and app messages to members.

kf: each outbox row is sent with the kf `msgid` `lx<outbox id>`, so a resend after a crash is
refused by WeCom as a duplicate instead of reaching the constituent twice (treated as sent).
A row carrying a fresh `welcome_code` uses send_msg_on_event (free, within 20 s). Every other
message is reserved against the 5-per-48 h budget first (budget.py); an answer immediately
followed by its rating menu goes out as one msgmenu.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.registry import HoldSend, SendError
from bot.runtime import Runtime
from bot.wecom import budget
from bot.wecom.client import WeComApi
from storage.models import OutboxItem
from storage.outbox import UNSENT
from storage.timeutil import utcnow

log = logging.getLogger(__name__)

WELCOME_TTL = timedelta(seconds=18)  # WeCom gives 20 s; keep a little for the call itself
INVALID_PARAM = 40035  # also what WeCom answers for a used or expired welcome_code
BUDGET_CODES = {95001: False, 95002: True}  # errcode -> the window itself is closed
CARD_TITLE_MAX = 36
MAX_BUTTONS = 6


@dataclass(frozen=True)
class KfMessage:
    """One kf/send_msg body without the addressing fields."""

    msgid: str
    msgtype: str
    body: dict[str, Any]


def _menu(head: str, items: list[dict[str, Any]], tail: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "list": [{"type": "click", "click": {"id": i["id"], "content": i["text"]}} for i in items]
    }
    if head:
        body["head_content"] = head
    if tail:
        body["tail_content"] = tail
    return body


def _is_duplicate(exc: SendError) -> bool:
    """WeCom refused a msgid or task_id it has seen: our own earlier attempt got through."""
    text = str(exc).lower()
    return exc.code == INVALID_PARAM and "duplicate" in text


# ---------------------------------------------------------------- kf


def send_to_constituent(rt: Runtime, item: OutboxItem) -> dict[str, Any]:
    """Send one `to_constituent` row through kf (or hold it when the budget says so)."""
    api = WeComApi(rt)
    if item.payload.get("welcome_code"):
        return _welcome(api, item)
    follower = _rating_to_merge(rt, item)
    messages = _kf_messages(api, item, follower)
    units = len(messages)
    verdict = budget.reserve(rt, item, units, item.purpose)
    if not verdict.ok:
        _schedule_recheck(rt, item.id)
        raise HoldSend(verdict.reason)
    delivered = _deliver(rt, api, item, messages, units)
    if follower is not None:
        _mark_merged(rt, follower.id, item.id)
    return {
        "msgids": delivered,  # as WeCom returned them: the budget's ledger
        "spent_budget": units,
        "window": verdict.window,  # the constituent message these sends count against
        "merged": follower.id if follower else None,
    }


def _deliver(
    rt: Runtime, api: WeComApi, item: OutboxItem, messages: list[KfMessage], units: int
) -> list[str]:
    address = {
        "touser": item.payload["external_id"],
        "open_kfid": item.payload.get("open_kfid") or rt.settings.wecom.open_kfid,
    }
    delivered: list[str] = []
    for message in messages:
        data = {
            **address,
            "msgid": message.msgid,
            "msgtype": message.msgtype,
            message.msgtype: message.body,
        }
        try:
            answer = api.post("kf/send_msg", data)
        except SendError as exc:
            if not _is_duplicate(exc):
                _after_failure(rt, item, exc, units - len(delivered))
                raise
            log.info("kf msgid %s was delivered by an earlier attempt", message.msgid)
            answer = {}
        delivered.append(str(answer.get("msgid") or message.msgid))
    return delivered


def _after_failure(rt: Runtime, item: OutboxItem, exc: SendError, unsent: int) -> None:
    cid = int(item.payload["constituent_id"])
    if isinstance(exc.code, int) and exc.code in BUDGET_CODES:
        closed = BUDGET_CODES[exc.code]
        tag = budget.WINDOW_CLOSED if closed else budget.BUDGET_FULL
        verdict = budget.Verdict(False, f"{tag}: {exc.describe()}", closed=closed)
        budget.exhausted(rt, item, verdict)
        _schedule_recheck(rt, item.id)
        raise HoldSend(verdict.reason) from exc
    if isinstance(exc.code, int):  # WeCom answered: the message did not count
        budget.release(rt, cid, unsent)
    # a timeout or network error may have reached WeCom: the slot stays spent (the resend
    # carries the same msgid, so it cannot be delivered twice)


def _welcome(api: WeComApi, item: OutboxItem) -> dict[str, Any]:
    """A greeting with the enter_session welcome_code; a stale one is dropped, not sent late
    (it would greet someone who has already started talking, and cost a budget slot)."""
    if utcnow() - item.created_at > WELCOME_TTL:
        log.info("welcome of outbox %s dropped: its welcome_code is too old", item.id)
        return {"skipped": "welcome_code too old", "spent_budget": 0}
    payload = item.payload
    msgtype, body = _text_or_menu(payload)
    data = {
        "code": payload["welcome_code"],
        "msgid": f"lx{item.id}",
        "msgtype": msgtype,
        msgtype: body,
    }
    try:
        api.post("kf/send_msg_on_event", data)
    except SendError as exc:
        if _is_duplicate(exc) and "msgid" in str(exc).lower():
            return {"msgids": [f"lx{item.id}"], "via": "send_msg_on_event", "spent_budget": 0}
        if exc.retryable:
            raise
        log.info("welcome of outbox %s dropped: %s", item.id, exc.describe())
        return {"skipped": exc.describe()[:200], "spent_budget": 0}
    return {"msgids": [f"lx{item.id}"], "via": "send_msg_on_event", "spent_budget": 0}


def _text_or_menu(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    text = str(payload.get("text") or "")
    if payload.get("menu"):
        return "msgmenu", _menu(text, list(payload["menu"]), str(payload.get("menu_tail") or ""))
    return "text", {"content": text}


def _kf_messages(api: WeComApi, item: OutboxItem, follower: OutboxItem | None) -> list[KfMessage]:
    payload = item.payload
    msgid = f"lx{item.id}"
    if follower is not None:
        rating = follower.payload
        head = "\n\n".join(
            t for t in (str(payload.get("text") or ""), str(rating.get("text") or "")) if t
        )
        body = _menu(head, list(rating["menu"]), str(rating.get("menu_tail") or ""))
        return [KfMessage(msgid, "msgmenu", body)]
    messages: list[KfMessage] = []
    if payload.get("text") or payload.get("menu"):
        msgtype, body = _text_or_menu(payload)
        messages.append(KfMessage(msgid, msgtype, body))
    if payload.get("image_path"):
        media_id = api.upload("image", Path(str(payload["image_path"])))
        messages.append(
            KfMessage(f"{msgid}i" if messages else msgid, "image", {"media_id": media_id})
        )
    if not messages:
        raise SendError("nothing to send (no text, menu or image)", code="empty", retryable=False)
    return messages


def _rating_to_merge(rt: Runtime, item: OutboxItem) -> OutboxItem | None:
    """The rating menu queued right after this answer, to send both as one msgmenu."""
    payload = item.payload
    if item.purpose != "answer" or payload.get("menu") or payload.get("image_path"):
        return None
    with rt.sessions() as session:
        nxt = session.scalars(
            select(OutboxItem)
            .where(
                OutboxItem.ordering_key == item.ordering_key,
                OutboxItem.id > item.id,
                OutboxItem.status.in_(UNSENT),
            )
            .order_by(OutboxItem.id)
            .limit(1)
        ).first()
        if nxt is None or nxt.status != "pending" or nxt.purpose != "rating":
            return None
        if nxt.channel != item.channel or not nxt.payload.get("menu"):
            return None
        if nxt.payload.get("image_path") or nxt.payload.get("welcome_code"):
            return None
        session.expunge(nxt)
        return nxt


def _mark_merged(rt: Runtime, follower_id: int, into_id: int) -> None:
    with rt.sessions() as session, session.begin():
        row = session.get(OutboxItem, follower_id, with_for_update=True)
        if row is not None and row.status == "pending":
            row.status = "sent"
            row.sent_at = utcnow()
            row.result = {"merged_into": into_id, "spent_budget": 0}


def _schedule_recheck(rt: Runtime, outbox_id: int) -> None:
    """Look at a held row again once its hold is recorded (closes a race with a new window)."""
    from bot.queue import OUTBOUND_QUEUE
    from bot.wecom.jobs import recheck_held

    try:
        rt.queue(OUTBOUND_QUEUE).enqueue(recheck_held, outbox_id, 0, result_ttl=30)
    except Exception as exc:  # the next inbound message releases it anyway
        log.warning("recheck of held outbox %s not enqueued: %s", outbox_id, exc)


# ---------------------------------------------------------------- app (members)


def send_to_member(rt: Runtime, item: OutboxItem) -> dict[str, Any]:
    """Send a `to_member` row (text, markdown or button card) or a `card_update` row."""
    api = WeComApi(rt)
    if item.kind == "card_update":
        return _update_card(rt, api, item)
    payload = item.payload
    if item.kind == "to_constituent":  # an app member in the constituent's role: plain text
        payload = {"user_ids": [payload["external_id"]], "text": _as_plain_text(payload)}
    users = [str(u) for u in payload.get("user_ids") or [] if u]
    if not users:
        raise SendError("no recipients", code="empty", retryable=False)
    data: dict[str, Any] = {
        "touser": "|".join(users),
        "agentid": rt.settings.wecom.agent_id,
        **_member_message(item.id, payload),
    }
    try:
        result = api.post("message/send", data)
    except SendError as exc:
        if _is_duplicate(exc) and "task_id" in str(exc).lower():
            return {"duplicate": True}
        raise
    if result.get("invaliduser"):
        log.warning("outbox %s: WeCom skipped invalid users %s", item.id, result["invaliduser"])
    keep = ("msgid", "invaliduser", "response_code")
    return {k: result[k] for k in keep if result.get(k)}


def _as_plain_text(payload: dict[str, Any]) -> str:
    """A kf-style payload (text, menu, tail) as app text; menu choices become lines."""
    lines = [str(payload.get("text") or "")]
    lines += [f"· {item['text']}" for item in payload.get("menu") or []]
    if payload.get("menu_tail"):
        lines.append(str(payload["menu_tail"]))
    return "\n".join(line for line in lines if line)


def _member_message(outbox_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    text = str(payload.get("text") or "")
    buttons = list(payload.get("buttons") or [])
    if buttons:
        title, _, rest = text.partition("\n")
        card: dict[str, Any] = {
            "card_type": "button_interaction",
            "main_title": {"title": title[:CARD_TITLE_MAX] or "连心"},
            "task_id": str(payload.get("task_id") or f"lx{outbox_id}"),
            "button_list": [
                {"text": b["text"], "style": 1, "key": b["id"]} for b in buttons[:MAX_BUTTONS]
            ],
        }
        if rest.strip():
            card["sub_title_text"] = rest.strip()
        return {"msgtype": "template_card", "template_card": card}
    if payload.get("markdown"):
        return {"msgtype": "markdown", "markdown": {"content": text}}
    return {
        "msgtype": "text",
        "text": {"content": text},
        "enable_duplicate_check": 1,
        "duplicate_check_interval": 1800,
    }


def _update_card(rt: Runtime, api: WeComApi, item: OutboxItem) -> dict[str, Any]:
    payload = item.payload
    data = {
        "userids": list(payload.get("userids") or []),
        "agentid": rt.settings.wecom.agent_id,
        "response_code": payload["response_code"],
        "button": {"replace_name": payload["replace_name"]},
    }
    result = api.post("message/update_template_card", data)
    return {"invaliduser": result.get("invaliduser") or []}
