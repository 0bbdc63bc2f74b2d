"""Durable outbox: sends written in the same transaction as the case change that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Update, bindparam, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.models import OutboxItem
from storage.models.base import utc_param
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


def _due(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """Ready to (re)send: pending and due, or `sending` whose worker lease has run out."""
    return or_(
        (OutboxItem.status == "pending") & (OutboxItem.next_attempt_at <= now),
        (OutboxItem.status == "sending") & (OutboxItem.lease_until < now),
    )


def due_outbox_ids(session: Session, *, now: datetime, limit: int = 500) -> list[int]:
    """Rows ready to (re)send: pending and due, or `sending` whose worker lease has run out."""
    stmt = select(OutboxItem.id).where(_due(now)).order_by(OutboxItem.id).limit(limit)
    return list(session.scalars(stmt))


def lease_due(
    session: Session, outbox_id: int, *, now: datetime, until: datetime
) -> OutboxItem | None:
    """Lease the row if it is due and no earlier row of its ordering key is unsent.

    One UPDATE … RETURNING (the row lock, the checks and the lease in a single round trip);
    None when another worker holds it, it is not due, or a predecessor must go first (whose
    success enqueues this one, see `next_in_order`).
    """
    params = {"outbox_id": outbox_id, "now": now, "until": until}
    return session.scalars(_LEASE_DUE, params).one_or_none()


def _lease_due_statement() -> Update:
    earlier = aliased(OutboxItem)
    predecessor = (
        select(earlier.id)
        .where(
            earlier.ordering_key == OutboxItem.ordering_key,
            earlier.id < OutboxItem.id,
            earlier.status.in_(BLOCKING),
        )
        .exists()
    )
    return (
        update(OutboxItem)
        .where(OutboxItem.id == bindparam("outbox_id"), _due(utc_param("now")), ~predecessor)
        .values(status="sending", attempts=OutboxItem.attempts + 1, lease_until=utc_param("until"))
        .returning(OutboxItem)
        .execution_options(synchronize_session=False)
    )


# Built once: a send runs these on every row, and building a statement (and its cache key)
# per call cost more CPU than executing it (bench/pipeline.py's workers are CPU-bound).
_LEASE_DUE = _lease_due_statement()


def settle(session: Session, outbox_id: int, **values: Any) -> str | None:
    """Set a leased row's outcome (status and its fields) in one UPDATE; its ordering key."""
    params = {"outbox_id": outbox_id, **{f"b_{k}": v for k, v in values.items()}}
    row = session.execute(_settle_statement(frozenset(values)), params)
    found = row.one_or_none()
    if found is None:
        raise LookupError(f"outbox row {outbox_id} is gone")
    key: str | None = found[0]
    return key


_SETTLE: dict[frozenset[str], Update] = {}


def _settle_statement(fields: frozenset[str]) -> Update:
    """The UPDATE setting `fields` (bound by name) of one row, built once per set of fields."""
    stmt = _SETTLE.get(fields)
    if stmt is None:
        columns = OutboxItem.__table__.c
        stmt = _SETTLE[fields] = (
            update(OutboxItem)
            .where(OutboxItem.id == bindparam("outbox_id"))
            .values(
                lease_until=None, **{f: bindparam(f"b_{f}", type_=columns[f].type) for f in fields}
            )
            .returning(OutboxItem.ordering_key)
            .execution_options(synchronize_session=False)
        )
    return stmt


def next_in_order(session: Session, ordering_key: str | None, after_id: int) -> int | None:
    """The next unsent row after `after_id` with the same ordering key."""
    if ordering_key is None:
        return None
    params = {"b_ordering_key": ordering_key, "after_id": after_id}
    return session.scalars(_NEXT_IN_ORDER, params).first()


_NEXT_IN_ORDER = (
    select(OutboxItem.id)
    .where(
        OutboxItem.ordering_key == bindparam("b_ordering_key"),
        OutboxItem.id > bindparam("after_id"),
        OutboxItem.status == "pending",
    )
    .order_by(OutboxItem.id)
    .limit(1)
)


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
