"""Durable inbox: record each inbound platform event once, keyed by its platform id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import InboxItem
from storage.timeutil import utcnow


def record_inbound(session: Session, *, source: str, key: str, payload: str) -> int | None:
    """Insert unless (source, key) exists; return the new row id, or None for a duplicate."""
    bind = session.get_bind()
    dialect = bind.dialect.name if isinstance(bind, Engine) else bind.engine.dialect.name
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
    return session.execute(stmt).scalar_one_or_none()


def pending_inbox_ids(session: Session, *, older_than: datetime, limit: int = 500) -> list[int]:
    """Inbox rows still pending that were received before `older_than`."""
    stmt = (
        select(InboxItem.id)
        .where(InboxItem.status == "pending", InboxItem.received_at < older_than)
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
