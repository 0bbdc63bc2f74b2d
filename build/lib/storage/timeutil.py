"""Time helpers shared by every layer."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current wall-clock time, timezone-aware UTC."""
    return datetime.now(UTC)
