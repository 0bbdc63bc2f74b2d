"""The working calendar the office configured: settings' office hours, the office's calendar data.

One construction for everything that counts working time (SLA deadlines, escalation,
statistics), so a holiday the office entered is skipped everywhere alike.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.config import Settings
from handlers.workcal import WorkCalendar, WorkingHours
from storage.calendar import load_office_calendar
from storage.calendar.store import Stamp


def service_zone(settings: Settings) -> ZoneInfo:
    """The service's time zone (cards, texts, CLI output and statistics windows use it)."""
    return ZoneInfo(settings.sla.timezone)


def working_hours(settings: Settings) -> WorkingHours:
    """Office hours from [sla]."""
    sla = settings.sla
    return WorkingHours(
        start=time.fromisoformat(sla.workday_start),
        end=time.fromisoformat(sla.workday_end),
        tz=service_zone(settings),
    )


def work_calendar(settings: Settings, session: Session, stamp: Stamp | None = None) -> WorkCalendar:
    """Office hours on the office's calendar data, ahead of the chinese_calendar library."""
    office = load_office_calendar(session, stamp)
    return WorkCalendar(
        working_hours(settings),
        extra_holidays=office.holidays,
        extra_workdays=office.workdays,
        office_years=office.years,
    )
