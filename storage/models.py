"""SQLAlchemy 2 typed models: directory, cases and their event log, messages, inbox and outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.timeutil import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base for every lianxin table."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


# ---------------------------------------------------------------- directory


class Region(Base):
    """A node of the city → county → township tree; SLA overrides inherit downward."""

    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))  # city | county | township
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    sla_claim_days: Mapped[float | None] = mapped_column(Float)
    sla_answer_days: Mapped[float | None] = mapped_column(Float)
    sla_close_days: Mapped[float | None] = mapped_column(Float)
    office_group_id: Mapped[str | None] = mapped_column(String(128))  # DingTalk group of the office

    parent: Mapped[Region | None] = relationship(remote_side=[id])


class Station(Base):
    """A 代表联络站 with its DingTalk group and coordinates."""

    __tablename__ = "stations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    address: Mapped[str | None] = mapped_column(String(256))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    dingtalk_group_id: Mapped[str | None] = mapped_column(String(128))

    region: Mapped[Region] = relationship()


class Deputy(Base):
    """A people's congress deputy, known in DingTalk by their userId (staffId)."""

    __tablename__ = "deputies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    dingtalk_user_id: Mapped[str] = mapped_column(String(128), unique=True)
    level: Mapped[str] = mapped_column(String(16), default="county")  # city | county | township
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DeputyStation(Base):
    """Membership of a deputy in a station."""

    __tablename__ = "deputy_stations"
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), primary_key=True)


class RosterSlot(Base):
    """A deputy on duty at a station on a weekday (0 = Monday)."""

    __tablename__ = "roster_slots"
    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"))
    weekday: Mapped[int] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("station_id", "deputy_id", "weekday"),)


class Leave(Base):
    """A deputy's leave, optionally with a substitute who takes their duty."""

    __tablename__ = "leaves"
    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    substitute_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"))


class Staff(Base):
    """An office or station worker; may act on every case in their region."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    dingtalk_user_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    wecom_user_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))


class Department(Base):
    """A government body a case can be transferred (转办) to."""

    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"))
    dingtalk_group_id: Mapped[str | None] = mapped_column(String(128))
    aliases: Mapped[str | None] = mapped_column(String(256))  # comma-separated short names


class SceneCode(Base):
    """The `scene` of a kf QR link, resolving to a station (and optionally a door plate)."""

    __tablename__ = "scene_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    scene: Mapped[str] = mapped_column(String(32), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    plate: Mapped[str | None] = mapped_column(String(128))


# ---------------------------------------------------------------- constituents and cases


class Constituent(Base):
    """A person on the WeCom side, identified per channel."""

    __tablename__ = "constituents"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # wecom_kf | wecom_app
    external_id: Mapped[str] = mapped_column(String(128))
    open_kfid: Mapped[str | None] = mapped_column(String(128))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))  # from the last scene
    plate: Mapped[str | None] = mapped_column(String(128))
    last_inbound_at: Mapped[datetime | None]
    sends_since_inbound: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str | None] = mapped_column(String(32))  # a pending question, e.g. await_reason
    state_case_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("channel", "external_id"),)


class Case(Base):
    """One problem raised by one constituent; `id` is the short number shown as #123."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    constituent_id: Mapped[int] = mapped_column(ForeignKey("constituents.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    assignee_deputy_id: Mapped[int | None] = mapped_column(ForeignKey("deputies.id"), index=True)
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    category: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    plate: Mapped[str | None] = mapped_column(String(128))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    location_label: Mapped[str | None] = mapped_column(String(256))
    answer: Mapped[str | None] = mapped_column(Text)
    answer_seq: Mapped[int] = mapped_column(Integer, default=0)  # answers given so far
    rating: Mapped[str | None] = mapped_column(String(16))  # last rating value
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    paused_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    first_answered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    claim_due_at: Mapped[datetime | None]
    answer_due_at: Mapped[datetime | None]
    close_due_at: Mapped[datetime | None]
    rating_due_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class CaseEvent(Base):
    """Append-only log: one row per transition or notable step of a case."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # transition | routed | escalated | note | ...
    action: Mapped[str | None] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_kind: Mapped[str] = mapped_column(
        String(16)
    )  # constituent | deputy | staff | dept | system
    actor_id: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk | cli | system
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Message(Base):
    """A message in or out of a case conversation; `platform_id` dedupes redeliveries."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(16))
    platform_id: Mapped[str | None] = mapped_column(String(160), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    constituent_id: Mapped[int | None] = mapped_column(ForeignKey("constituents.id"))
    sender: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # text | image | location | voice | menu | event
    text: Mapped[str | None] = mapped_column(Text)
    media_path: Mapped[str | None] = mapped_column(String(512))
    lat: Mapped[float | None] = mapped_column(Float)  # a shared location (text holds its label)
    lng: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """A constituent's judgement of one answer; once per answer."""

    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    answer_seq: Mapped[int] = mapped_column(Integer)
    constituent_id: Mapped[int] = mapped_column(ForeignKey("constituents.id"))
    value: Mapped[str] = mapped_column(String(16))  # satisfied | basic | unsatisfied | unrated
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("case_id", "answer_seq"),)


class CardRef(Base):
    """A DingTalk interactive card showing a case, addressed by its outTrackId."""

    __tablename__ = "card_refs"
    id: Mapped[int] = mapped_column(primary_key=True)
    out_track_id: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    space: Mapped[str] = mapped_column(String(160))  # group:<cid> | user:<userId>


class Notice(Base):
    """A notice (meeting notice, 意见征集) pushed by staff to deputies."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime]


class NoticeDelivery(Base):
    """Delivery and read/confirm status of one notice for one deputy."""

    __tablename__ = "notice_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|confirmed
    sent_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("notice_id", "deputy_id"),)


# ---------------------------------------------------------------- durable inbox and outbox


class InboxItem(Base):
    """A raw inbound platform event, recorded before it is acknowledged."""

    __tablename__ = "inbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))  # wecom_kf_event | dingtalk_bot | ...
    key: Mapped[str] = mapped_column(String(160))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # set (and committed) when a worker starts on the row; past it, the worker is presumed dead
    lease_until: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("source", "key", name="uq_inbox_source_key"),
        Index("ix_inbox_pending", "status", "received_at"),
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
