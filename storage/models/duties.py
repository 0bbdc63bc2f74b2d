"""代表履职: solicitations and votes, secret ballots, and the offline activities deputies register.

Secret ballots (docs/duties.md): `ballots` rows carry no deputy id, no timestamp and a random
key, so nothing in the database orders or links a ballot to the `solicit_targets` row that says
the deputy voted.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.timeutil import utcnow


class Solicitation(Base):
    """A 意见征集 / questionnaire (kind survey) or an electronic vote (kind vote)."""

    __tablename__ = "solicitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # survey | vote
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"title", "url"}]
    questions: Mapped[list[Any]] = mapped_column(JSON)  # [{"text","type","options","required"}]
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)  # as given: region|stations|deputies
    deadline: Mapped[datetime]
    remind_days: Mapped[list[Any]] = mapped_column(JSON, default=list)  # working days before
    reminders_done: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))
    tally: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # votes: counted at the close


class SolicitTarget(Base):
    """One deputy asked by a solicitation, and their answers (None for votes)."""

    __tablename__ = "solicit_targets"
    solicitation_id: Mapped[int] = mapped_column(ForeignKey("solicitations.id"), primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), primary_key=True, index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent|partial|answered|voted
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # {"1": ["A"], "3": "text"}
    changes: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None for a secret ballot: the time a deputy voted is not kept
    answered_at: Mapped[datetime | None]


class Ballot(Base):
    """One cast ballot, apart from the voter: random id, no deputy, no time."""

    __tablename__ = "ballots"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    solicitation_id: Mapped[int] = mapped_column(ForeignKey("solicitations.id"), index=True)
    choices: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"1": ["A"], "2": ["B", "C"]}


class DutyActivity(Base):
    """An offline activity a deputy registered (`登记 走访 12月3日 东湖村 …`)."""

    __tablename__ = "duty_activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # 走访 | 调研 | 视察 | 接待 | ...
    occurred_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(128), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str | None] = mapped_column(String(256))  # DingTalk downloadCode
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    status: Mapped[str] = mapped_column(String(16), default="registered")  # registered|confirmed
    confirmed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Meeting(Base):
    """A meeting or activity notice: time, place, agenda, documents; 报名/请假/签到."""

    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    place: Mapped[str] = mapped_column(String(200), default="")
    agenda: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    audience: Mapped[dict[str, Any]] = mapped_column(JSON)
    checkin_token: Mapped[str] = mapped_column(String(32))  # in the venue's QR code only
    button_checkin: Mapped[bool] = mapped_column(Boolean, default=False)  # staff allow 签到 button
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64), default="cli")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingAttendee(Base):
    """One invited deputy: 报名, 请假 (with reason) and 签到."""

    __tablename__ = "meeting_attendees"
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), primary_key=True, index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    status: Mapped[str] = mapped_column(String(16), default="invited")  # invited|registered|excused
    reason: Mapped[str | None] = mapped_column(Text)  # 请假 reason
    replied_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    checkin_via: Mapped[str | None] = mapped_column(String(8))  # qr | button


class Document(Base):
    """A document for 阅文: attached to a meeting or sent alone."""

    __tablename__ = "duty_documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    remind_days: Mapped[int | None] = mapped_column(Integer)  # working days after sending
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DocumentRead(Base):
    """One deputy's read receipt of a document: opened, then confirmed read (已阅)."""

    __tablename__ = "document_reads"
    document_id: Mapped[int] = mapped_column(ForeignKey("duty_documents.id"), primary_key=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("deputies.id"), primary_key=True, index=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
