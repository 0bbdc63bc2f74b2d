"""12345 hotline work orders: the hotline's own fields of a case imported with source "12345"."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.timeutil import utcnow


class HotlineTicket(Base):
    """One 12345 work order (工单); its case holds the masked text, status and dates.

    Nothing here is raw personal data: the caller's name and phone are never stored, only a
    keyed hash of the normalised phone (`caller_hash`) so repeat callers can be counted.
    """

    __tablename__ = "hotline_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    ticket_no: Mapped[str] = mapped_column(String(64), unique=True)  # 工单编号
    nature: Mapped[str | None] = mapped_column(String(16))  # 工单性质: 主办 | 协办 | 转办 | ...
    handling_unit: Mapped[str | None] = mapped_column(String(128))  # 承办单位
    raw_category: Mapped[str | None] = mapped_column(String(256))  # 问题分类 as a -> path
    raw_status: Mapped[str | None] = mapped_column(String(32))  # 办理状态 as the hotline says it
    resolved: Mapped[str | None] = mapped_column(String(8))  # 是否解决: yes | partly | no
    satisfied: Mapped[str | None] = mapped_column(String(16))  # satisfied|basic|unsatisfied|unrated
    caller_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # HMAC-SHA256 hex
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    address: Mapped[str | None] = mapped_column(Text)  # 诉求地址, masked
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
