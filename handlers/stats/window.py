"""The statistics window: local calendar dates, inclusive, turned into UTC instants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """From the start of `first` to the end of `last` (both local dates, inclusive)."""

    first: date
    last: date
    tz: ZoneInfo

    def __post_init__(self) -> None:
        """A window that ends before it starts is an operator's typo, not an empty report."""
        if self.last < self.first:
            raise ValueError(f"the window ends ({self.last}) before it starts ({self.first})")

    @cached_property
    def start(self) -> datetime:
        """The first instant inside the window (UTC)."""
        return datetime.combine(self.first, time(0), tzinfo=self.tz).astimezone(UTC)

    @cached_property
    def end(self) -> datetime:
        """The first instant after the window (UTC, exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(
            UTC
        )

    def contains(self, t: datetime | None) -> bool:
        """True when `t` falls inside the window."""
        return t is not None and self.start <= t < self.end

    def describe(self) -> str:
        """The window as shown next to every figure."""
        return f"{self.first:%Y-%m-%d} 至 {self.last:%Y-%m-%d}（{self.tz.key}）"


def local_week(t: datetime, tz: ZoneInfo) -> str:
    """The ISO week of an instant in local time, as 2026-W48."""
    iso = t.astimezone(tz).isocalendar()
    return f"{iso.year}-W{iso.week:02d}"
