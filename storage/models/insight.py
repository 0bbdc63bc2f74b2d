"""民情大脑: the gazetteer of places, and which places each case names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class Place(Base):
    """A road, estate (小区, 安置小区), village (自然村) or landmark, in a community or township."""

    __tablename__ = "places"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # road | estate | village | landmark
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    __table_args__ = (UniqueConstraint("region_id", "name"),)


class CasePlace(Base):
    """A place a case complains about, with each object it names ('' when none).

    One row per (place, object): similar cases are looked up by place and object in one
    indexed query (a case may name a crossing of two roads, or a lamp and a manhole).
    """

    __tablename__ = "case_places"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), primary_key=True)
    object: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    __table_args__ = (Index("ix_case_places_lookup", "place_id", "object", "case_id"),)


InsightFeatures = dict[str, Any]
