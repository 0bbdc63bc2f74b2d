"""Outbox rows of channel "dingtalk" → OpenAPI / sessionWebhook calls (workers only).

Kinds (handlers/notices.py): `oto` (1:1 robot messages, any number of users), `group`, `reply`
(sessionWebhook while valid, else OpenAPI) here; `card_post` and `card_refresh` in card_send.py;
`solicit_card` and `solicit_refresh` (意见征集 template cards) in solicit_send.py.
bot/dingtalk/jobs.py dispatches on the kind.

Exactly-once care, in order of the window each closes:
- a row is split into child rows of ≤ 20 users (and flow-controlled users into a new delayed
  row) in the same transaction that marks it sent, so a crash never resends a finished chunk;
- every successful call is remembered in Redis under the row (`once`) before the row is marked
  sent in the database, so a crash between the two does not call again;
- a card's outTrackId is derived from its row, so a resend after a lost answer is refused as a
  duplicate by DingTalk and counted as done;
- what remains is a plain message whose request reached DingTalk but whose answer never came
  back (worker killed mid-call, timeout): DingTalk's robot send APIs take no idempotency key, so
  that message is sent again (at least once) rather than possibly lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.dingtalk import cards
from bot.dingtalk.api import ApiError, DingTalkApi
from bot.runtime import Runtime
from storage.models import Deputy, OutboxItem, Staff
from storage.outbox import MERGE_PREFIX, add_outbound, fold_followers, take_new_outbox_ids
from storage.timeutil import utcnow

log = logging.getLogger(__name__)

BATCH_SEND = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND = "/v1.0/robot/groupMessages/send"
MAX_USERS = 20  # batchSend takes at most 20 userIds (dingtalk.md §4.2)
FLOW_CONTROL_DELAY = 60.0  # first retry of flow-controlled users; doubles each round
FLOW_CONTROL_ROUNDS = 5  # then the users are given up (logged), ~30 minutes later
WEBHOOK_MARGIN = timedelta(seconds=30)  # do not start a webhook call that may expire in flight
SESSION_GONE = "300001"
DONE_TTL = 7 * 86400


@dataclass
class SendContext:
    """What one send needs: the runtime, the OpenAPI client and the card mode."""

    rt: Runtime
    api: DingTalkApi
    template_id: str

    @property
    def namespace(self) -> str:
        """Redis prefix and outTrackId salt of this deployment."""
        return self.rt.settings.redis.queue_prefix


# ---------------------------------------------------------------- bookkeeping


def done_key(ctx: SendContext, item: OutboxItem, step: str) -> str:
    stamp = int(item.created_at.timestamp() * 1_000_000)
    return f"{ctx.namespace}:dingtalk:done:{item.id}:{stamp}:{step}"


def once(
    ctx: SendContext, item: OutboxItem, step: str, call: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run `call` unless this row's `step` already succeeded; remember its answer in Redis."""
    key = done_key(ctx, item, step)
    cached = ctx.rt.redis.get(key)
    if cached:
        log.info("outbox %s step %s already done; not calling again", item.id, step)
        done: dict[str, Any] = json.loads(cached)
        return done
    result = call()
    try:
        ctx.rt.redis.set(key, json.dumps(result, ensure_ascii=False), ex=DONE_TTL)
    except Exception as exc:  # the call went out; only the crash guard is missing
        log.warning("outbox %s step %s done but not remembered: %s", item.id, step, exc)
    return result


def _spawn(
    ctx: SendContext,
    item: OutboxItem,
    tag: str,
    payloads: list[dict[str, Any]],
    result: dict[str, Any],
    delay: float = 0.0,
) -> list[int]:
    """Create follow-up rows and mark `item` sent, in one transaction; enqueue them after it."""
    from bot.pipeline.outbox_jobs import enqueue_send

    try:
        with ctx.rt.sessions.begin() as session:
            parent = session.get(OutboxItem, item.id, with_for_update=True)
            if parent is None or parent.status == "sent":
                return []
            due = utcnow() + timedelta(seconds=delay)
            for i, payload in enumerate(payloads):
                child = add_outbound(
                    session,
                    channel=item.channel,
                    kind=item.kind,
                    payload=payload,
                    ordering_key=item.ordering_key,
                    dedupe_key=f"dingtalk:{item.id}:{tag}:{i}",
                    purpose=item.purpose,
                    case_id=item.case_id,
                )
                child.next_attempt_at = due
            parent.status, parent.sent_at, parent.result = "sent", utcnow(), result
            parent.lease_until = None
            ids = take_new_outbox_ids(session)
    except IntegrityError:
        log.info("outbox %s: follow-up rows %s already exist", item.id, tag)
        return []
    for child_id in ids:
        enqueue_send(ctx.rt, child_id, delay=delay)
    return ids


def _message(text: str, title: str | None) -> tuple[str, str]:
    """(msgKey, msgParam) of a robot message: markdown when it has a title, else plain text."""
    if title:
        param: dict[str, str] = {"title": title, "text": cards.fit(text)}
        return "sampleMarkdown", json.dumps(param, ensure_ascii=False)
    return "sampleText", json.dumps({"content": cards.fit(text)}, ensure_ascii=False)


def display_names(session: Session, user_ids: list[str]) -> list[str]:
    """Names of DingTalk users we know (deputies, staff); the userId otherwise."""
    if not user_ids:
        return []
    names: dict[str, str] = {}
    for model in (Deputy, Staff):
        stmt = select(model.dingtalk_user_id, model.name).where(
            model.dingtalk_user_id.in_(user_ids)
        )
        for uid, name in session.execute(stmt):
            if uid is not None:
                names.setdefault(uid, name)
    return [names.get(u, u) for u in user_ids]


# ---------------------------------------------------------------- 1:1 and group messages


def send_oto(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """1:1 robot messages; more than 20 users become child rows of ≤ 20."""
    p = item.payload
    users = list(dict.fromkeys(str(u) for u in p.get("user_ids") or []))
    if not users:
        return {"skipped": "no users"}
    if len(users) > MAX_USERS:
        chunks = [users[i : i + MAX_USERS] for i in range(0, len(users), MAX_USERS)]
        payloads = [{**p, "user_ids": chunk} for chunk in chunks]
        ids = _spawn(ctx, item, "chunk", payloads, {"split_into": len(chunks)})
        return {"split_into": len(chunks), "children": ids}
    if (item.ordering_key or "").startswith(MERGE_PREFIX):
        return _batch_send(ctx, item, users, "", None, compose=lambda: _fold_late(ctx, item))
    text, title = _with_choices(p["text"], p.get("title"), p.get("choices"))
    return _batch_send(ctx, item, users, text, title)


def _fold_late(ctx: SendContext, item: OutboxItem) -> tuple[str, str | None]:
    """`item`'s text once its call is admitted, with the notices that queued up behind it
    while it waited for DingTalk's limiter folded in (storage.outbox.fold_followers)."""
    with ctx.rt.sessions.begin() as session:
        row = session.get(OutboxItem, item.id, with_for_update=True)
        if row is not None and row.status == "sending" and fold_followers(session, row):
            item.payload = dict(row.payload)  # what a flow-control retry sends
    p = item.payload
    return _with_choices(p["text"], p.get("title"), p.get("choices"))


def _with_choices(text: str, title: str | None, choices: Any) -> tuple[str, str | None]:
    """The text as markdown with one dtmd link per choice, when there are choices."""
    if not choices:
        return text, title
    made_title, body = cards.choices_markdown(text, [(str(a), str(b)) for a, b in choices])
    return body, title or made_title


def _batch_send(
    ctx: SendContext,
    item: OutboxItem,
    users: list[str],
    text: str,
    title: str | None,
    *,
    compose: Callable[[], tuple[str, str | None]] | None = None,
) -> dict[str, Any]:
    def body() -> dict[str, Any]:
        key, param = _message(*(compose() if compose else (text, title)))
        return {"robotCode": ctx.api.robot_code, "userIds": users, "msgKey": key, "msgParam": param}

    resp = once(ctx, item, "batchSend", lambda: ctx.api.call("POST", BATCH_SEND, body))
    limited = [u for u in resp.get("flowControlledStaffIdList") or [] if u in users]
    result = {
        "processQueryKey": resp.get("processQueryKey"),
        "invalid": resp.get("invalidStaffIdList") or [],
        "flow_controlled": limited,
    }
    if result["invalid"]:
        log.warning("outbox %s: DingTalk does not know users %s", item.id, result["invalid"])
    if limited:
        _retry_flow_controlled(ctx, item, limited, result)
    return result


def _retry_flow_controlled(
    ctx: SendContext, item: OutboxItem, users: list[str], result: dict[str, Any]
) -> None:
    rounds = int(item.payload.get("flow_round") or 0)
    if rounds >= FLOW_CONTROL_ROUNDS:
        log.error("outbox %s: users %s still flow-controlled; giving up", item.id, users)
        return
    delay = FLOW_CONTROL_DELAY * 2**rounds
    payload = {**item.payload, "user_ids": users, "flow_round": rounds + 1}
    ids = _spawn(ctx, item, "flow", [payload], result, delay=delay)
    log.info(
        "outbox %s: %d flow-controlled users retried in %.0fs as %s",
        item.id,
        len(users),
        delay,
        ids,
    )


def send_group(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """A robot message in a group; the API cannot @, so mentioned people are named in the text."""
    p = item.payload
    with ctx.rt.sessions() as session:
        names = display_names(session, list(p.get("at_user_ids") or []))
    text = p["text"] + ("\n\n" + cards.mention_line(names) if names else "")
    key, param = _message(text, p.get("title"))
    body = {
        "robotCode": ctx.api.robot_code,
        "openConversationId": p["conversation_id"],
        "msgKey": key,
        "msgParam": param,
    }
    resp = once(ctx, item, "groupSend", lambda: ctx.api.call("POST", GROUP_SEND, body))
    return {"processQueryKey": resp.get("processQueryKey")}


def send_reply(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """The answer to a text command: through its sessionWebhook while valid, else the OpenAPI."""
    p = item.payload
    group = p.get("conversation_type") == "group"
    expires = _parse_time(p.get("webhook_expires_at"))
    text, title = _with_choices(p["text"], None, p.get("choices"))
    if p.get("webhook") and expires is not None and expires - WEBHOOK_MARGIN > utcnow():
        body: dict[str, Any] = (
            {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
            if title
            else {"msgtype": "text", "text": {"content": text}}
        )
        if group:
            body["at"] = {"atUserIds": [p["user_id"]]}
        try:
            once(ctx, item, "webhook", lambda: ctx.api.webhook(p["webhook"], body))
            return {"via": "sessionWebhook"}
        except ApiError as exc:
            if exc.retryable:  # no answer: the message may have arrived; try the same way again
                raise
            log.info("outbox %s: sessionWebhook refused (%s); using the OpenAPI", item.id, exc.code)
    if group and p.get("conversation_id"):
        key, param = _message(text, title)
        body = {
            "robotCode": ctx.api.robot_code,
            "openConversationId": p["conversation_id"],
            "msgKey": key,
            "msgParam": param,
        }
        resp = once(ctx, item, "groupSend", lambda: ctx.api.call("POST", GROUP_SEND, body))
        return {"via": "groupMessages", "processQueryKey": resp.get("processQueryKey")}
    result = _batch_send(ctx, item, [p["user_id"]], text, title)
    return {"via": "oToMessages", **result}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
