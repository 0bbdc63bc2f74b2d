"""Constituents, cases and their event log, messages, ratings, cards and notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.timeutil import utcnow

BOT_SOURCE = "bot"  # Case.source of cases opened through WeCom / DingTalk intake


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
    # the kf msgid of the constituent message that opened the current 48-hour window, and our
    # sends whose order relative to it WeCom's whole-second stamps cannot tell (bot/wecom/budget)
    window_msgid: Mapped[str | None] = mapped_column(String(128))
    uncertain_sends: Mapped[int] = mapped_column(Integer, default=0)
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
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    category: Mapped[str | None] = mapped_column(String(64))
    # where the case came from: bot (WeCom/DingTalk intake) | 12345 (hotline import) | ...
    source: Mapped[str] = mapped_column(
        String(16), default=BOT_SOURCE, server_default=BOT_SOURCE, index=True
    )
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
    first_answered_at: Mapped[datetime | None] = mapped_column(index=True)
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    claim_due_at: Mapped[datetime | None]
    answer_due_at: Mapped[datetime | None] = mapped_column(index=True)
    close_due_at: Mapped[datetime | None]
    rating_due_at: Mapped[datetime | None]
    # the deadlines reach into a year without holiday data (counted Monday–Friday): 暂定
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)
    # 民情大脑 (handlers/insight): category confidence and source, the place and how it was
    # found, the suggested same case or the case this one recurs, and the matching features
    category_confidence: Mapped[float | None] = mapped_column(Float)
    category_source: Mapped[str | None] = mapped_column(String(16))  # model|lexicon|corrected
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"), index=True)
    place_how: Mapped[str | None] = mapped_column(String(16))  # text|location|plate|station|none
    similar_to_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    similar_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recurrence_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    insight: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_cases_created_region", "created_at", "region_id"),
        Index("ix_cases_lat_lng", "lat", "lng"),
        Index("ix_cases_unplaced", "place_id", "lat", "created_at"),
    )
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
    created_at: Mapped[datetime] = mapped_column(index=True)
    __table_args__ = (UniqueConstraint("case_id", "answer_seq"),)

    @classmethod
    def unrated(cls, case: Case, answer_seq: int, at: datetime) -> Rating:
        """The 未评价 of an answer nobody rated in time (on the constituent's own case row)."""
        return cls(
            case_id=case.id,
            answer_seq=answer_seq,
            constituent_id=case.constituent_id,
            value="unrated",
            created_at=at,
        )


class CardRef(Base):
    """A DingTalk interactive card showing a case, addressed by its outTrackId."""

    __tablename__ = "card_refs"
    id: Mapped[int] = mapped_column(primary_key=True)
    out_track_id: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    space: Mapped[str] = mapped_column(String(160))  # group:<cid> | user:<id>, ";"-joined


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
