"""The directory: regions, stations, deputies, rosters, staff, departments, scene codes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base


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
