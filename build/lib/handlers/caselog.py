"""Apply lifecycle transitions to stored cases; every change appends one event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.lifecycle import Action, Status, next_status
from storage.models import Case, CaseEvent


@dataclass(frozen=True)
class Actor:
    """Who did something, and through which channel."""

    kind: str  # constituent | deputy | staff | dept | system
    id: str | None
    channel: str  # wecom | dingtalk | cli | system
    name: str | None = None

    @staticmethod
    def system() -> Actor:
        """The service itself (routing, timers)."""
        return Actor("system", None, "system", "系统")


def transition(
    session: Session,
    case: Case,
    action: Action,
    actor: Actor,
    now: datetime,
    **payload: Any,
) -> CaseEvent:
    """Move `case` by `action` (or raise InvalidTransition) and log it."""
    before = Status(case.status)
    after = next_status(before, action)
    case.status = after.value
    case.updated_at = now
    return _append(session, case, "transition", actor, now, payload, action, before, after)


def note(
    session: Session, case: Case, kind: str, actor: Actor, now: datetime, **payload: Any
) -> CaseEvent:
    """Log a step that does not change the status (routing reason, escalation, message)."""
    return _append(session, case, kind, actor, now, payload, None, None, None)


def _append(
    session: Session,
    case: Case,
    kind: str,
    actor: Actor,
    now: datetime,
    payload: dict[str, Any],
    action: Action | None,
    before: Status | None,
    after: Status | None,
) -> CaseEvent:
    if actor.name:
        payload = {"actor_name": actor.name, **payload}
    if case.id is None:
        session.flush()  # the event needs the case's id
    event = CaseEvent(
        case_id=case.id,
        kind=kind,
        action=action.value if action else None,
        from_status=before.value if before else None,
        to_status=after.value if after else None,
        actor_kind=actor.kind,
        actor_id=actor.id,
        channel=actor.channel,
        at=now,
        payload=payload,
    )
    session.add(event)
    return event


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    """The case's event log in order."""
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
    return list(session.scalars(stmt))


def replayed_status(session: Session, case_id: int) -> Status:
    """The status obtained by replaying the case's transition events from `new`."""
    from handlers.lifecycle import replay

    events = events_of(session, case_id)
    return replay(Action(e.action) for e in events if e.kind == "transition" and e.action)
