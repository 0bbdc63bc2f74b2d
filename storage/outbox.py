"""Durable outbox: sends written in the same transaction as the case change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.models import OutboxItem
from storage.timeutil import utcnow

NEW_OUTBOX_KEY = "lianxin.new_outbox_ids"
UNSENT = ("pending", "sending", "held")
# A held row (e.g. WeCom's 48-hour budget is spent on it) does not block later rows: the answer
# and the rating menu have their own reserved slots and must not wait behind a held notice.
BLOCKING = ("pending", "sending")
# ordering keys of rows whose waiting followers are folded into the one being sent
MERGE_PREFIX = "merge:"


def add_outbound(
    session: Session,
    *,
    channel: str,
    kind: str,
    payload: dict[str, Any],
    ordering_key: str | None = None,
    dedupe_key: str | None = None,
    purpose: str = "info",
    case_id: int | None = None,
) -> OutboxItem:
    """Queue one send; the caller's commit makes it durable, and it is sent after that commit."""
    item = OutboxItem(
        channel=channel,
        kind=kind,
        payload=payload,
        ordering_key=ordering_key,
        dedupe_key=dedupe_key,
        purpose=purpose,
        case_id=case_id,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(item)
    session.flush()
    session.info.setdefault(NEW_OUTBOX_KEY, []).append(item.id)
    return item


def take_new_outbox_ids(session: Session) -> list[int]:
    """Ids of outbox rows added in this session since the last call (to enqueue after commit)."""
    ids: list[int] = session.info.pop(NEW_OUTBOX_KEY, [])
    return ids


def due_outbox_ids(session: Session, *, now: datetime, limit: int = 500) -> list[int]:
    """Rows ready to (re)send: pending and due, or `sending` whose worker lease has run out."""
    stmt = (
        select(OutboxItem.id)
        .where(
            or_(
                (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now),
                (OutboxItem.status == "sending") & (OutboxItem.lease_until < now),
            )
        )
        .order_by(OutboxItem.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def blocking_predecessor(session: Session, item: OutboxItem) -> int | None:
    """An earlier unsent row with the same ordering key, which must go first."""
    if item.ordering_key is None:
        return None
    stmt = (
        select(OutboxItem.id)
        .where(
            OutboxItem.ordering_key == item.ordering_key,
            OutboxItem.id < item.id,
            OutboxItem.status.in_(BLOCKING),
        )
        .order_by(OutboxItem.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def next_in_order(session: Session, item: OutboxItem) -> int | None:
    """The next unsent row after `item` with the same ordering key."""
    if item.ordering_key is None:
        return None
    stmt = (
        select(OutboxItem.id)
        .where(
            OutboxItem.ordering_key == item.ordering_key,
            OutboxItem.id > item.id,
            OutboxItem.status == "pending",
        )
        .order_by(OutboxItem.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def fold_followers(session: Session, item: OutboxItem, *, limit: int = 20) -> list[int]:
    """Fold the waiting rows behind `item` (same merge ordering key) into it; their ids.

    Called while `item` is being leased, so each folded row is marked `merged` in the same
    transaction that puts its text into `item`: a crash either keeps both as they were or
    leaves the text in `item` alone, never in both. Only plain text is folded.
    """
    if not (item.ordering_key or "").startswith(MERGE_PREFIX) or not _plain(item.payload):
        return []
    stmt = (
        select(OutboxItem)
        .where(
            OutboxItem.ordering_key == item.ordering_key,
            OutboxItem.id > item.id,
            OutboxItem.status == "pending",
        )
        .order_by(OutboxItem.id)
        .limit(limit)
        .with_for_update()
    )
    texts = [str(item.payload["text"])]
    folded = []
    for row in session.scalars(stmt):
        if not _plain(row.payload) or row.payload.get("user_ids") != item.payload.get("user_ids"):
            break  # keep order: nothing after a row that cannot be folded
        texts.append(str(row.payload["text"]))
        row.status = "merged"
        row.result = {"merged_into": item.id}
        folded.append(row.id)
    if folded:
        item.payload = {**item.payload, "text": "\n".join(texts), "folded": folded}
    return folded


def _plain(payload: dict[str, Any]) -> bool:
    return (
        isinstance(payload.get("text"), str)
        and not payload.get("title")
        and not payload.get("choices")
    )
