"""The weekly 热点专报 tick: last week's brief to each region's office group, once per week."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.insight.brief import BEIJING, Week, build_brief
from handlers.insight.brief_text import brief_markdown, brief_title
from handlers.notices import ToDingTalkGroup, queue_notice
from handlers.workcal import WorkCalendar
from storage.models import OutboxItem, Region

SEND_AT = time(9, 0)  # Beijing time, on the week's first working day


def dedupe_key(region_code: str, week: Week) -> str:
    """The outbox key that makes the brief of one region and week go out once."""
    return f"brief:{region_code}:{week.label}"


def first_workday(week: Week, calendar: WorkCalendar) -> date | None:
    """Monday, or the first working day after it in the same week (None: a week of holidays)."""
    for offset in range(7):
        day = week.monday + timedelta(days=offset)
        if calendar.is_workday(day):
            return day
    return None


def send_due_briefs(session: Session, ctx: HandlerContext) -> int:
    """From 09:00 on this week's first working day: queue last week's brief per office group."""
    local = ctx.now.astimezone(BEIJING)
    this_week = Week.of(local.date())
    first = first_workday(this_week, ctx.calendar)
    if first is None or (local.date(), local.time()) < (first, SEND_AT):
        return 0
    week = this_week.previous()
    regions = session.scalars(
        select(Region).where(Region.office_group_id.is_not(None)).order_by(Region.id)
    )
    sent = 0
    for region in list(regions):
        key = dedupe_key(region.code, week)
        if not region.office_group_id or _queued(session, key):
            continue
        brief = build_brief(session, region.code, week)
        notice = ToDingTalkGroup(
            region.office_group_id, brief_markdown(brief), title=brief_title(brief)
        )
        queue_notice(session, notice, dedupe_key=key)
        sent += 1
    return sent


def _queued(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxItem.id).where(OutboxItem.dedupe_key == key)) is not None
