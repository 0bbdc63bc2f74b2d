"""Self-built app callbacks (members): text, template-card button clicks and enter_agent.

wechatpy 1.8.18 parses template_card_event as an UnknownMessage, so the raw fields are read
here directly. Button keys are `action` or `action:<case number>` or `action:k=v&k=v`
(e.g. `claim:42`, `confirm_notice:notice_id=7`); the click becomes a CardAction with those
params plus the card's `response_code` (for message/update_template_card).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from bot.wecom.callbacks import text_of
from handlers.events import CardAction, InboundEvent, StaffText
from storage.models import KeyValue

log = logging.getLogger(__name__)

PLATFORM: Final = "wecom_app"
HELP_TEXT = "帮助"  # what opening the app stands for (at most once a day per member)
HELP_EVERY = timedelta(hours=24)


def sent_at_of(inner: dict[str, Any]) -> datetime:
    """CreateTime as aware UTC (0 when missing or malformed)."""
    raw = text_of(inner, "CreateTime")
    return datetime.fromtimestamp(int(raw) if raw.isdigit() else 0, UTC)


def parse_button_key(key: str) -> tuple[str, dict[str, str]]:
    """(action, params) from a button key such as `claim:42` or `confirm_notice:notice_id=7`."""
    action, _, rest = key.partition(":")
    if not rest:
        return action, {}
    if "=" in rest:
        return action, dict(parse_qsl(rest, keep_blank_values=True))
    return action, {"case_id": rest}


def to_event(
    session: Session, inner: dict[str, Any], key: str, now: datetime
) -> InboundEvent | None:
    """The neutral event for an app callback, or None when handlers need not see it."""
    event = translate(inner, key)
    is_enter = text_of(inner, "Event") == "enter_agent"
    if event is not None and is_enter and not _help_due(session, event.user_id, now):
        return None
    return event


def translate(inner: dict[str, Any], key: str) -> StaffText | CardAction | None:
    """The event an app callback stands for (enter_agent: a 帮助 request), without state."""
    user_id = text_of(inner, "FromUserName")
    if not user_id:
        return None
    msg_type, event = text_of(inner, "MsgType"), text_of(inner, "Event")
    sent_at = sent_at_of(inner)
    if msg_type == "text":
        msg_id = text_of(inner, "MsgId") or key
        return StaffText(PLATFORM, user_id, msg_id, text_of(inner, "Content"), sent_at)
    if msg_type != "event":
        log.info("wecom app %s message from %s ignored", msg_type, user_id)
        return None
    if event == "template_card_event":
        return _card_action(inner, user_id, key, sent_at)
    if event == "enter_agent":
        return StaffText(PLATFORM, user_id, key, HELP_TEXT, sent_at)
    return None


def _card_action(inner: dict[str, Any], user_id: str, key: str, sent_at: datetime) -> CardAction:
    action, params = parse_button_key(text_of(inner, "EventKey"))
    params = {
        **params,
        "response_code": text_of(inner, "ResponseCode"),
        "card_type": text_of(inner, "CardType"),
    }
    return CardAction(
        platform=PLATFORM,
        user_id=user_id,
        platform_id=key,
        card_id=text_of(inner, "TaskId"),
        action=action,
        params=params,
        sent_at=sent_at,
    )


def _help_due(session: Session, user_id: str, now: datetime) -> bool:
    """enter_agent fires every time a member opens the app: greet at most once a day."""
    row = session.get(KeyValue, f"wecom:enter_agent:{user_id}"[:160])
    if row is not None:
        try:
            if now - datetime.fromisoformat(row.value) < HELP_EVERY:
                return False
        except ValueError:
            pass
        row.value = now.isoformat()
    else:
        session.add(KeyValue(key=f"wecom:enter_agent:{user_id}"[:160], value=now.isoformat()))
    return True
