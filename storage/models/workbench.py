"""The web workbench: server-side login sessions and the audit record of views and exports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.timeutil import utcnow


class WebSession(Base):
    """A logged-in person; the cookie carries only a random token whose hash is the key."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_kind: Mapped[str] = mapped_column(String(16))  # deputy | staff
    person_id: Mapped[int] = mapped_column(Integer)
    dingtalk_user_id: Mapped[str] = mapped_column(String(128))
    csrf_token: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))  # oauth | mianden
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who looked at what: every case-detail view, export and refused access."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    person_kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int | None] = mapped_column(Integer)
    person_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # view_case | export_cases | refused | ...
    target: Mapped[str] = mapped_column(String(256))  # e.g. case:12, cases.xlsx?status=...
    rows: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
