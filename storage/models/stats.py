"""Derived data kept per case: working hours (statistics) and the masked text (exports)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, Text
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


class CaseMask(Base):
    """A cache: a case's text as the 脱敏 masker masks it (handlers/workbench/masked.py).

    `key` hashes the text and the masker's code, so a changed text or masker shows as stale.
    """

    __tablename__ = "case_masks"
    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(40))
    masked: Mapped[str] = mapped_column(Text)
