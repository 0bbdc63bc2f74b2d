"""Durable inbox: record each inbound platform event once, keyed by its platform id."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import InboxItem
from storage.timeutil import utcnow


def record_inbound(db: Session | Connection, *, source: str, key: str, payload: str) -> int | None:
    """Insert unless (source, key) exists; return the new row id, or None for a duplicate.

    Takes a Core connection too: the web tier records on a plain connection (no ORM session)
    because this insert sits on the platforms' ack path.
    """
    bind = db.get_bind() if isinstance(db, Session) else db
    dialect = bind.dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = (
        module.insert(InboxItem)
        .values(
            source=source,
            key=key,
            payload=payload,
            status="pending",
            attempts=0,
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["source", "key"])
        .returning(InboxItem.id)
    )
    return db.execute(stmt).scalar_one_or_none()


def pending_inbox_ids(
    session: Session, *, older_than: datetime, now: datetime, limit: int = 500
) -> list[int]:
    """Rows still pending, received before `older_than`, that no live worker holds."""
    stmt = (
        select(InboxItem.id)
        .where(
            InboxItem.status == "pending",
            InboxItem.received_at < older_than,
            or_(InboxItem.lease_until.is_(None), InboxItem.lease_until < now),
        )
        .order_by(InboxItem.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def lock_pending(session: Session, inbox_id: int) -> InboxItem | None:
    """The inbox row locked for update if it is still pending, else None."""
    stmt = select(InboxItem).where(InboxItem.id == inbox_id).with_for_update()
    item = session.execute(stmt).scalar_one_or_none()
    return item if item is not None and item.status == "pending" else None


def mark_done(item: InboxItem) -> None:
    """Mark a locked inbox row processed (commit it together with the row's effects)."""
    item.status = "done"
    item.processed_at = utcnow()
    item.lease_until = None


def take_lease(session: Session, inbox_id: int, lease: timedelta) -> InboxItem | None:
    """Count an attempt and lease a pending row to this worker; None if it is not pending."""
    item = lock_pending(session, inbox_id)
    if item is not None:
        item.attempts += 1
        item.lease_until = utcnow() + lease
    return item
