"""The working calendar and hours the office configured, for handlers and statistics."""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from bot.config import Settings
from handlers.workcal import WorkCalendar, WorkingHours


def service_zone(settings: Settings) -> ZoneInfo:
    """The service's time zone (cards, texts, CLI output and statistics windows use it)."""
    return ZoneInfo(settings.sla.timezone)


def work_calendar(settings: Settings) -> WorkCalendar:
    """Office hours from the settings on the Chinese working-day calendar."""
    sla = settings.sla
    hours = WorkingHours(
        start=time.fromisoformat(sla.workday_start),
        end=time.fromisoformat(sla.workday_end),
        tz=service_zone(settings),
    )
    return WorkCalendar(hours)
