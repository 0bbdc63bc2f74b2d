"""Durable inbox: record each inbound platform event once; claim rows in conversation order.

Every row belongs to a conversation (one constituent at one kf account, one app user, one
DingTalk sender in one chat). A conversation's rows are processed strictly in id order, one at
a time: only its oldest pending row (its head) is claimable, and only while no worker holds it
and it is not waiting out a retry backoff (`lease_until`). A row that fails for good becomes
`failed` and no longer holds its conversation back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    CursorResult,
    Dialect,
    Engine,
    Insert,
    Update,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from storage.db import relax_commit, upsert_insert
from storage.models import InboxItem
from storage.models.base import utc_param
from storage.timeutil import utcnow


def record_inbound(
    db: Session | Connection,
    *,
    source: str,
    key: str,
    payload: str,
    conversation: str,
    nonce: str | None = None,
) -> int | None:
    """Insert unless (source, key) or the nonce exists; the new row id, or None if not new.

    One statement, so on an autocommit connection it is one round trip: the web tier records on
    a plain Core connection (no ORM session, no BEGIN/COMMIT) because it sits on the ack path.
    """
    bind = db.get_bind() if isinstance(db, Session) else db
    params = _new_row(source, key, conversation, nonce, payload)
    return db.execute(_insert_statement(bind.dialect.name), params).scalar_one_or_none()


def _new_row(
    source: str, key: str, conversation: str, nonce: str | None, payload: str
) -> dict[str, Any]:
    """The values of a new, pending inbox row (the parameters of the INSERT)."""
    return {
        "source": source,
        "key": key,
        "conversation": conversation,
        "nonce": nonce,
        "payload": payload,
        "received_at": utcnow(),
        "status": "pending",
        "attempts": 0,
    }


def record_inbound_direct(
    engine: Engine,
    *,
    source: str,
    key: str,
    payload: str,
    conversation: str,
    nonce: str | None = None,
) -> int | None:
    """`record_inbound` on a pooled DBAPI connection of an autocommit engine (the ack path).

    The statement is compiled once; per callback this is one cursor execute, without the
    Connection, execution context and result objects around it (≈0.3 ms of CPU on SQLite,
    more than the insert). After a connection the server dropped, the pool is renewed and the
    insert retried once.
    """
    insert = _direct_insert(engine.dialect)
    params = _new_row(source, key, conversation, nonce, payload)
    for attempt in (1, 2):
        conn = engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(insert.sql, insert.arguments(params))
                row = cursor.fetchone()
            finally:
                cursor.close()
            # a no-op in autocommit mode; but a pooled SQLite connection that SQLAlchemy used
            # and reset is back in pysqlite's implicit-transaction mode, so commit regardless
            conn.commit()
            return None if row is None else int(row[0])
        except engine.dialect.loaded_dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(exc, conn.dbapi_connection, None):
                raise
            conn.invalidate(exc)
            # the server restarted or dropped us: the pool's idle connections are dead too
            engine.dispose(close=False)
        finally:
            conn.close()
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _DirectInsert:
    sql: str
    positional: tuple[str, ...] | None  # parameter order for qmark drivers (SQLite)
    processors: dict[str, Callable[[Any], Any]]  # SQLAlchemy's bind conversions (datetimes)

    def arguments(self, params: dict[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        converted = {
            k: self.processors[k](v) if k in self.processors else v for k, v in params.items()
        }
        if self.positional is None:
            return converted
        return tuple(converted[name] for name in self.positional)


_DIRECT: dict[tuple[str, str, str], _DirectInsert] = {}


def _direct_insert(dialect: Dialect) -> _DirectInsert:
    which = (dialect.name, dialect.driver, dialect.paramstyle)
    found = _DIRECT.get(which)
    if found is None:
        compiled = _insert_statement(dialect.name).compile(dialect=dialect)
        positional = tuple(compiled.positiontup) if compiled.positiontup else None
        found = _DIRECT[which] = _DirectInsert(
            compiled.string,
            positional,
            {k: f for k, f in compiled._bind_processors.items() if callable(f)},
        )
    return found


_INSERTS: dict[str, Insert] = {}


def _insert_statement(dialect: str) -> Insert:
    """The inbox INSERT, built once per dialect: rebuilding it per callback (the ORM's values()
    and a fresh cache key) cost more CPU than the insert itself on the ack path."""
    stmt = _INSERTS.get(dialect)
    if stmt is None:
        table = InboxItem.__table__
        stmt = _INSERTS[dialect] = (
            upsert_insert(dialect)(table)
            .values({name: bindparam(name) for name in _INSERT_PARAMS})
            .on_conflict_do_nothing()  # any unique key: (source, key) or the nonce
            .returning(table.c.id)
        )
    return stmt


_INSERT_PARAMS = (
    "source",
    "key",
    "conversation",
    "nonce",
    "payload",
    "received_at",
    "status",
    "attempts",
)


def prune_nonces(db: Session, *, received_before: datetime, limit: int = 5000) -> int:
    """Forget the nonces of rows received before `received_before` (at most `limit` rows);
    the number forgotten. A callback that old is refused by its timestamp, so its nonce no
    longer guards anything, and the unique index need not grow forever."""
    ids = (
        select(InboxItem.id)
        .where(InboxItem.nonce.is_not(None), InboxItem.received_at < received_before)
        .order_by(InboxItem.id)
        .limit(limit)
    )
    stmt = update(InboxItem).where(InboxItem.id.in_(ids)).values(nonce=None)
    result = db.execute(stmt, execution_options={"synchronize_session": False})
    return int(cast(CursorResult[Any], result).rowcount)


def is_replay(db: Session | Connection, *, source: str, key: str, nonce: str) -> bool:
    """After a refused insert: True when the nonce belongs to another event (a replay)."""
    stmt = select(InboxItem.source, InboxItem.key).where(InboxItem.nonce == nonce)
    row = db.execute(stmt).first()
    return row is not None and (row.source, row.key) != (source, key)


def _claimable(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    return or_(InboxItem.lease_until.is_(None), InboxItem.lease_until < now)


def claim_head(
    session: Session, conversation: str, lease: timedelta, *, skip_locked: bool
) -> InboxItem | None:
    """Lease the oldest pending row of `conversation` if it is claimable; None otherwise.

    One UPDATE … RETURNING. The head is found first and only then locked: SKIP LOCKED on an
    `ORDER BY id LIMIT 1` would skip a head another worker is claiming and hand out the row
    behind it. A locked or leased head means another worker holds the conversation; it
    continues with the next row.
    """
    now = utcnow()
    params = {"b_conversation": conversation, "now": now, "until": now + lease}
    item = session.scalars(_CLAIM_HEAD[skip_locked], params).one_or_none()
    if item is not None:
        relax_commit(session)  # a lost lease only makes the row claimable again
    return item


def _claim_head_statement(skip_locked: bool) -> Update:
    head = (
        select(func.min(InboxItem.id))
        .where(InboxItem.conversation == bindparam("b_conversation"), InboxItem.status == "pending")
        .scalar_subquery()
    )
    target = select(InboxItem.id).where(
        InboxItem.id == head, InboxItem.status == "pending", _claimable(utc_param("now"))
    )
    if skip_locked:
        target = target.with_for_update(skip_locked=True)
    return (
        update(InboxItem)
        .where(InboxItem.id == target.scalar_subquery())
        .values(attempts=InboxItem.attempts + 1, lease_until=utc_param("until"))
        .returning(InboxItem)
        .execution_options(synchronize_session=False)
    )


# Built once: every event runs both, and building a statement (and its cache key) per call
# cost more CPU than executing it
_CLAIM_HEAD = {skip: _claim_head_statement(skip) for skip in (False, True)}
_FINISH_LEASED = (
    update(InboxItem)
    .where(
        InboxItem.id == bindparam("inbox_id"),
        InboxItem.status == "pending",
        InboxItem.attempts == bindparam("b_attempts"),
    )
    .values(status="done", processed_at=utc_param("b_processed_at"), lease_until=None)
    .execution_options(synchronize_session=False)
)


def finish_leased(session: Session, item: InboxItem) -> bool:
    """Mark a leased row done if its lease is still this worker's (pending, same attempt).

    Commit it with the row's effects. False when another worker took the row over after the
    lease ran out: roll the effects back, the row is that worker's now.
    """
    params = {"inbox_id": item.id, "b_attempts": item.attempts, "b_processed_at": utcnow()}
    result = cast(CursorResult[Any], session.execute(_FINISH_LEASED, params))
    return result.rowcount == 1


def claimable_conversations(
    session: Session, *, older_than: datetime, now: datetime, limit: int = 500
) -> list[str]:
    """Conversations whose head row is claimable and was received before `older_than`
    (Redis lost the wake-up, a worker died, a retry's backoff is over)."""
    heads = (
        select(func.min(InboxItem.id))
        .where(InboxItem.status == "pending")
        .group_by(InboxItem.conversation)
    )
    stmt = (
        select(InboxItem.conversation)
        .where(
            InboxItem.id.in_(heads),
            InboxItem.received_at < older_than,
            _claimable(now),
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


def retry_at(item: InboxItem, when: datetime, error: str) -> None:
    """Leave a failed row pending, claimable again at `when`; its conversation waits."""
    item.last_error = error[-2000:]
    item.lease_until = when


def mark_failed(item: InboxItem, error: str) -> None:
    """Give up on a row: it stops holding its conversation back."""
    item.status = "failed"
    item.last_error = error[-2000:]
    item.lease_until = None
    item.processed_at = utcnow()
