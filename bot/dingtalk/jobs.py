"""DingTalk's inbox processors and outbox sender (imported by bot.adapters in every worker)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.dingtalk.api import ApiConfig, ApiError, DingTalkApi
from bot.dingtalk.card_send import send_card_post, send_card_refresh
from bot.dingtalk.events import BOT_SOURCE, CARD_SOURCE, card_action_from, staff_text_from
from bot.dingtalk.media import send_media
from bot.dingtalk.send import SendContext, send_group, send_oto, send_reply
from bot.dingtalk.solicit_send import send_solicit_cards, send_solicit_refresh
from bot.pipeline.context import dispatch_event
from bot.pipeline.registry import SendError, processor, sender
from bot.runtime import Runtime
from handlers.events import CardAction
from handlers.notices import RefreshCaseCards, queue_notice
from storage.models import CardRef, Case, InboxItem, OutboxItem
from storage.outbox import NEW_OUTBOX_KEY

log = logging.getLogger(__name__)

_clients: dict[tuple[int, ApiConfig], DingTalkApi] = {}


def api_client(rt: Runtime) -> DingTalkApi:
    """This process's OpenAPI client for `rt` (its HTTP pool and limiter script stay warm)."""
    cfg = ApiConfig.from_settings(rt.settings.dingtalk, rt.settings.redis.queue_prefix)
    key = (id(rt.redis), cfg)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = DingTalkApi(rt.redis, cfg, rt=rt)
    return client


@processor(BOT_SOURCE)
def process_bot_message(rt: Runtime, session: Session, item: InboxItem) -> None:
    """A deputy's or staff member's message to the bot → StaffText → the handlers."""
    event = staff_text_from(item.payload)
    if event is not None:
        dispatch_event(rt, session, event)


@processor(CARD_SOURCE)
def process_card_action(rt: Runtime, session: Session, item: InboxItem) -> None:
    """A card button click → CardAction → the handlers; then the card is always re-rendered."""
    event = card_action_from(item.payload)
    if event is None:
        return
    dispatch_event(rt, session, event)
    if event.params.get("kind") == "solicit":
        return  # the handlers queued the deputy's own card refresh (handlers/duties/router.py)
    _ensure_refresh(session, event)


def _ensure_refresh(session: Session, event: CardAction) -> None:
    """Re-render the clicked card even when the handlers changed nothing.

    The click's ACK showed 「处理中…」 and hid the buttons (cards.busy_response); only a refresh
    brings them back, e.g. after a refused claim.
    """
    case_id = _case_of(session, event)
    if case_id is None:
        return
    for outbox_id in session.info.get(NEW_OUTBOX_KEY, []):
        row = session.get(OutboxItem, outbox_id)
        if row is not None and row.kind == "card_refresh" and row.case_id == case_id:
            return
    queue_notice(session, RefreshCaseCards(case_id), case_id=case_id)


def _case_of(session: Session, event: CardAction) -> int | None:
    case_id = session.scalar(select(CardRef.case_id).where(CardRef.out_track_id == event.card_id))
    if case_id is None and event.params.get("case_id", "").isdigit():
        case_id = int(event.params["case_id"])
    if case_id is None or session.get(Case, case_id) is None:
        log.info("card action on unknown card %s ignored for refresh", event.card_id)
        return None
    return int(case_id)


@sender("dingtalk")
def send_dingtalk(rt: Runtime, item: OutboxItem) -> dict[str, Any]:
    """Send one outbox row of channel "dingtalk"."""
    if not rt.settings.dingtalk.configured:
        raise SendError(
            "DingTalk is not configured ([dingtalk] client_id/client_secret)",
            retryable=True,
            retry_after=60,
        )
    ctx = SendContext(rt, api_client(rt), rt.settings.dingtalk.card_template_id)
    return send_item(ctx, item)


KINDS: dict[str, Callable[[SendContext, OutboxItem], dict[str, Any]]] = {
    "oto": send_oto,
    "group": send_group,
    "reply": send_reply,
    "card_post": send_card_post,
    "card_refresh": send_card_refresh,
    "media": send_media,
    "solicit_card": send_solicit_cards,
    "solicit_refresh": send_solicit_refresh,
}


def send_item(ctx: SendContext, item: OutboxItem) -> dict[str, Any]:
    """Send one "dingtalk" outbox row; raises SendError when it did not (fully) succeed."""
    fn = KINDS.get(item.kind)
    if fn is None:
        raise SendError(f"unknown dingtalk outbox kind {item.kind!r}", retryable=False)
    try:
        return fn(ctx, item)
    except ApiError as exc:
        raise SendError(
            str(exc),
            code=exc.code or exc.status or None,
            retryable=exc.retryable,
            retry_after=exc.retry_after,
        ) from None
