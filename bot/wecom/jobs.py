"""WeCom inbox processors and outbox senders (registered when `bot.adapters` imports this)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from bot import runtime
from bot.pipeline.context import dispatch_event
from bot.pipeline.outbox_jobs import enqueue_send
from bot.pipeline.registry import SendError, io_processor, processor, sender
from bot.queue import OUTBOUND_QUEUE
from bot.runtime import Runtime
from bot.wecom import app, budget, kf, senders
from bot.wecom.callbacks import APP_SOURCE, KF_EVENT_SOURCE, KF_MSG_SOURCE
from bot.wecom.crypto import parse_inner
from handlers.events import ConstituentMessage
from handlers.intake import find_constituent
from storage.models import Constituent, InboxItem, OutboxItem
from storage.timeutil import utcnow

log = logging.getLogger(__name__)
RECHECK_TRIES = 10


@io_processor(KF_EVENT_SOURCE)
def pull_kf_messages(rt: Runtime, inbox_id: int) -> None:
    """A kf_msg_or_event callback: pull the account's new messages (see kf.py)."""
    kf.pull(rt, inbox_id)


@processor(KF_MSG_SOURCE)
def process_kf_message(rt: Runtime, session: Session, item: InboxItem) -> None:
    """One pulled kf message: hand its neutral event to the handlers; renew the budget."""
    event = kf.to_event(json.loads(item.payload))
    if event is None:
        log.info("kf message %s needs no handling", item.key)
        return
    person = _kf_constituent(session, event) if isinstance(event, ConstituentMessage) else None
    previous = person.last_inbound_at if person is not None else None
    dispatch_event(rt, session, event)
    if isinstance(event, ConstituentMessage):
        # the row found before is still this session's (its identity map); only a new one
        # (the handlers create it for a first message) needs the query again
        person = person if person is not None else _kf_constituent(session, event)
        if person is None:  # handlers always create it; never lose the window if they did not
            person = Constituent(
                channel=kf.CHANNEL,
                external_id=event.external_id,
                open_kfid=event.open_kfid,
                sends_since_inbound=0,
            )
            session.add(person)
            session.flush()
        budget.on_inbound(
            session, person, event.sent_at, previous, event.platform_id, event.menu_id
        )


def _kf_constituent(session: Session, event: ConstituentMessage) -> Constituent | None:
    return find_constituent(session, kf.CHANNEL, event.external_id)


@processor(APP_SOURCE)
def process_app_callback(rt: Runtime, session: Session, item: InboxItem) -> None:
    """A member's text, card click or enter_agent in the self-built app."""
    event = app.to_event(session, parse_inner(item.payload), item.key, rt.now(session))
    if event is None:
        log.info("wecom app callback %s needs no handling", item.key)
        return
    dispatch_event(rt, session, event)


@sender("wecom_kf")
def send_kf(rt: Runtime, item: OutboxItem) -> dict[str, object]:
    """Outbox rows to constituents in WeChat (kind `to_constituent`)."""
    if item.kind != "to_constituent":
        raise SendError(f"wecom_kf cannot send kind {item.kind!r}", retryable=False)
    return senders.send_to_constituent(rt, item)


@sender("wecom_app")
def send_app(rt: Runtime, item: OutboxItem) -> dict[str, object]:
    """Outbox rows to WeCom members (`to_member`, `card_update`; `to_constituent` for people
    who reach lianxin through the app rather than kf)."""
    if item.kind not in ("to_member", "card_update", "to_constituent"):
        raise SendError(f"wecom_app cannot send kind {item.kind!r}", retryable=False)
    return senders.send_to_member(rt, item)


def recheck_held(outbox_id: int, tries: int = 0) -> str:
    """Release a held kf row whose constituent has written again since it was held.

    The hold is recorded after the sender returns; a message from the constituent processed
    in between would have found nothing to release. This job closes that gap.
    """
    rt = runtime.current()
    retry_later = release = False
    with rt.sessions() as session, session.begin():
        item = session.get(OutboxItem, outbox_id, with_for_update=True)
        if item is None:
            return "gone"
        if item.status == "sending":
            retry_later = tries < RECHECK_TRIES
        elif item.status == "held":
            person = session.get(Constituent, int(item.payload["constituent_id"]))
            units = budget.units_of(item.payload)
            if person is not None and budget.judge(person, item.purpose, units, utcnow()).ok:
                item.status, item.next_attempt_at, item.last_error = "pending", utcnow(), None
                release = True
    if retry_later:
        rt.queue(OUTBOUND_QUEUE).enqueue_in(
            timedelta(seconds=1), recheck_held, outbox_id, tries + 1, result_ttl=30
        )
        return "later"
    if release:
        enqueue_send(rt, outbox_id)
        return "released"
    return "kept"
