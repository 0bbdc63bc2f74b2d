"""The office's own working calendar: holidays and 调休 make-up workdays, per year."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.timeutil import utcnow


class CalendarYear(Base):
    """A year whose schedule the office entered; its days are in `calendar_days`."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(256))  # the file it was imported from
    note: Mapped[str | None] = mapped_column(String(256))  # e.g. the State Council notice
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarDay(Base):
    """One day that differs from plain Monday–Friday: a holiday or a 调休 workday."""

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str | None] = mapped_column(String(64))  # 春节, 春节调休上班 ...
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year"), index=True)
