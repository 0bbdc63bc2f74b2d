"""The single entry point the platform adapters call, inside the inbox job's transaction.

`handle` records the event as an inbound `Message` (unique on its platform id, so a redelivery
is a no-op), then routes it to intake, rating or the deputy/staff actions. Notices are only
queued in the outbox; nothing is sent before the caller commits. User input never raises: bad
input gets a polite reply, and a refused transition replies with its `user_message`.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from handlers import actions, cards, delivery, intake, queries, texts
from handlers.cards import ReplyTarget
from handlers.caselog import Actor, note
from handlers.context import HandlerContext
from handlers.events import (
    CardAction,
    ConstituentEntered,
    ConstituentMessage,
    DeliveryFailed,
    InboundEvent,
    StaffText,
)
from handlers.lifecycle import InvalidTransition
from handlers.notices import ToConstituent, queue_notice
from storage.db import insert_unless_present
from storage.models import Case, Constituent, Message

log = logging.getLogger(__name__)


def handle(session: Session, event: InboundEvent, ctx: HandlerContext) -> None:
    """Process one inbound event exactly once (by its platform id)."""
    msg = record(session, event, ctx)
    if msg is None:
        log.info("duplicate event %s ignored", dedupe_key(event))
        return
    try:
        with session.begin_nested():
            _route(session, event, msg, ctx)
    except InvalidTransition as exc:
        log.info("refused %s: %s", dedupe_key(event), exc)
        _refuse(session, event, msg, exc.user_message)


def _route(session: Session, event: InboundEvent, msg: Message, ctx: HandlerContext) -> None:
    if isinstance(event, ConstituentMessage):
        intake.on_message(session, event, msg, ctx)
    elif isinstance(event, ConstituentEntered):
        intake.on_entered(session, event, msg, ctx)
    elif isinstance(event, StaffText):
        actions.on_staff_text(session, event, ctx)
    elif isinstance(event, CardAction):
        actions.on_card_action(session, event, ctx)
    else:
        _delivery_failed(session, event, msg, ctx)


def dedupe_key(event: InboundEvent) -> str:
    """The unique `Message.platform_id` of an event (staff events are prefixed by platform)."""
    if isinstance(event, StaffText):
        return f"{event.platform}:{event.platform_id}"
    if isinstance(event, CardAction):
        return f"{event.platform}:card:{event.platform_id}"
    return event.platform_id


def record(session: Session, event: InboundEvent, ctx: HandlerContext) -> Message | None:
    """Store the event as an inbound message; None when it was seen before."""
    return insert_unless_present(
        session,
        Message,
        {
            "direction": "in",
            "channel": _channel(event),
            "platform_id": dedupe_key(event),
            "sender": event.external_id
            if hasattr(event, "external_id")
            else getattr(event, "user_id", None),
            "kind": _kind(event),
            "text": _text(event),
            "media_path": event.media_path if isinstance(event, ConstituentMessage) else None,
            "created_at": ctx.now,
        },
    )


def _channel(event: InboundEvent) -> str:
    if isinstance(event, StaffText | CardAction):
        return event.platform
    return event.channel


def _kind(event: InboundEvent) -> str:
    if isinstance(event, ConstituentMessage):
        return event.kind
    if isinstance(event, ConstituentEntered):
        return "event"
    if isinstance(event, StaffText):
        return "command"
    if isinstance(event, CardAction):
        return "card"
    return "failed"


def _text(event: InboundEvent) -> str | None:
    if isinstance(event, ConstituentMessage | StaffText):
        return event.text or None
    if isinstance(event, CardAction):
        return f"{event.action} {event.params}"
    if isinstance(event, ConstituentEntered):
        return f"scene={event.scene} param={event.scene_param}"
    return f"failed {event.failed_msgid} type={event.fail_type}"


def _refuse(session: Session, event: InboundEvent, msg: Message, text: str) -> None:
    """Answer whoever caused a refused transition, in their own channel."""
    if isinstance(event, StaffText | CardAction):
        target = ReplyTarget(
            platform=event.platform,
            user_id=event.user_id,
            conversation_id=event.conversation_id,
            conversation_type=event.conversation_type
            if isinstance(event, StaffText)
            else "private",
            webhook=event.reply_webhook if isinstance(event, StaffText) else None,
            webhook_expires_at=event.reply_webhook_expires_at
            if isinstance(event, StaffText)
            else None,
            from_text=isinstance(event, StaffText),
        )
        cards.reply(session, target, text)
    elif msg.constituent_id is not None:
        queue_notice(session, ToConstituent(msg.constituent_id, text, purpose="info"))


def _delivery_failed(
    session: Session, event: DeliveryFailed, msg: Message, ctx: HandlerContext
) -> None:
    """A message did not reach the constituent: log it on their case and tell station staff."""
    person = intake.constituent_for(session, event.channel, event.external_id, None, ctx)
    msg.constituent_id = person.id
    case = queries.latest_open_case(session, person) or _latest_case(session, person)
    if case is None:
        return
    msg.case_id = case.id
    note(
        session,
        case,
        "delivery_failed",
        Actor.system(),
        ctx.now,
        failed_msgid=event.failed_msgid,
        fail_type=event.fail_type,
    )
    delivery.after_send_failure(session, event.failed_msgid, event.fail_type, ctx)
    staff = cards.staff_people(queries.station_staff(session, case.station_id))
    if staff:
        cards.tell(session, staff, texts.delivery_failed(case.id), case_id=case.id)


def _latest_case(session: Session, person: Constituent) -> Case | None:
    from sqlalchemy import select

    stmt = select(Case).where(Case.constituent_id == person.id).order_by(Case.id.desc()).limit(1)
    return session.scalars(stmt).first()
