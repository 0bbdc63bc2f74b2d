"""The durable pipeline: inbox, outbox and small key-value state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.timeutil import utcnow


def _own_conversation(context: Any) -> str:
    """A row created without a conversation is a conversation of its own."""
    params = context.get_current_parameters()
    return f"{params['source']}:{params['key']}"[:200]


class InboxItem(Base):
    """A raw inbound platform event, recorded before it is acknowledged."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # wecom_kf_event | dingtalk_bot | ...
    key: Mapped[str] = mapped_column(String(160))
    # rows of one conversation are processed strictly in id order (= platform order), one at a
    # time: kf:<open_kfid>:<external_userid>, app:<UserID>, dt:<conversationId>:<senderStaffId>
    conversation: Mapped[str] = mapped_column(String(200), default=_own_conversation)
    # "<timestamp>:<nonce>" of a signed callback: the replay check rides on the inbox insert
    nonce: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # not before: set (and committed) when a worker claims the row, or to the retry time after
    # a failure; past it, a claiming worker is presumed dead and the row is claimable again
    lease_until: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("source", "key", name="uq_inbox_source_key"),
        UniqueConstraint("nonce", name="uq_inbox_nonce"),
        Index("ix_inbox_pending", "status", "received_at"),
        Index("ix_inbox_conversation", "conversation", "status", "id"),
    )


class OutboxItem(Base):
    """A pending send to a platform, written in the same transaction as the case change."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))  # wecom_kf | wecom_app | dingtalk
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    ordering_key: Mapped[str | None] = mapped_column(String(160), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="info")  # ack|answer|rating|info
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # pending | sending | sent | held | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class KeyValue(Base):
    """Small durable service state: kf cursors, the sandbox clock offset."""

    __tablename__ = "kv"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
