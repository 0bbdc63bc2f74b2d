"""Derived statistics data: each case's working hours to claim, answer and close."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class CaseHours(Base):
    """A cache: working hours of one case's spans on one working calendar (handlers/stats/spans).

    The inputs are stored beside the result, so a changed timestamp or calendar shows as stale
    and is recomputed; the table can be emptied at any time.
    """

    __tablename__ = "case_hours"
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    calendar_key: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    first_answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    to_claim: Mapped[float | None] = mapped_column(Float)
    to_answer: Mapped[float | None] = mapped_column(Float)
    to_close: Mapped[float | None] = mapped_column(Float)
