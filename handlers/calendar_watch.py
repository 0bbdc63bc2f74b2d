"""Years whose holidays nobody has entered: find them, tell each office group once, re-time.

A deadline that reaches into such a year is counted Monday–Friday and marked 暂定 on the
case (see escalation.refresh_dues). This module finds the years lianxin needs now (those a
case opened today reaches, and those of open provisional cases), tells each office staff
group about each missing year exactly once (an outbox dedupe key), and recomputes the
provisional deadlines after the office has imported the schedule.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handlers import cards, texts
from handlers.context import HandlerContext
from handlers.escalation import ACTIVE_STATUSES, refresh_dues
from storage.models import Case, OutboxItem, Region

# Warn this long before a case opened today would reach an uncovered year, so the office has
# time to enter the schedule (the State Council publishes it in October–December).
LEAD_DAYS = 31


def needed_years(session: Session, ctx: HandlerContext) -> set[int]:
    """Years a case opened within LEAD_DAYS would reach, plus those of open 暂定 cases."""
    cal = ctx.calendar
    region_longest = session.scalar(select(func.max(Region.sla_close_days)))
    longest = max(ctx.sla_defaults.close_days, region_longest or 0.0)
    horizon = cal.add_working_days(ctx.now + timedelta(days=LEAD_DAYS), longest)
    years = set(range(_local_year(ctx, ctx.now), _local_year(ctx, horizon) + 1))
    open_provisional = select(Case.created_at, Case.close_due_at).where(
        Case.status.in_(ACTIVE_STATUSES), Case.due_provisional.is_(True)
    )
    for created, close_due in session.execute(open_provisional):
        if close_due is not None:
            years.update(range(_local_year(ctx, created), _local_year(ctx, close_due) + 1))
    return years


def missing_years(session: Session, ctx: HandlerContext) -> list[int]:
    """The needed years that neither the office's data nor the library covers."""
    return sorted(y for y in needed_years(session, ctx) if not ctx.calendar.covers(y))


def office_groups(session: Session, ctx: HandlerContext) -> list[str]:
    """Every office staff group: the regions' own and the configured default."""
    stmt = select(Region.office_group_id).where(Region.office_group_id.is_not(None)).distinct()
    groups = [g for g in session.scalars(stmt) if g]
    if ctx.office_group_id:
        groups.append(ctx.office_group_id)
    return sorted(set(groups))


def dedupe_key(year: int, group: str) -> str:
    """The outbox key that makes the notice about `year` go to `group` only once."""
    return f"calendar-missing:{year}:{group}"


def warn_office_groups(session: Session, ctx: HandlerContext, years: list[int]) -> int:
    """Queue one notice per (missing year, office group) not told before; returns how many."""
    queued = 0
    for group in office_groups(session, ctx):
        fresh = [y for y in years if not _told(session, dedupe_key(y, group))]
        for year in fresh:
            try:
                with session.begin_nested():  # a concurrent run may have told the group first
                    text = texts.calendar_missing_notice([year])
                    cards.tell_group(session, group, text, dedupe_key=dedupe_key(year, group))
            except IntegrityError:
                continue
            queued += 1
    return queued


def warn_missing(session: Session, ctx: HandlerContext) -> int:
    """Mark stale open cases, tell the office groups not told yet; returns notices queued."""
    mark_provisional(session, ctx)
    return warn_office_groups(session, ctx, missing_years(session, ctx))


def mark_provisional(session: Session, ctx: HandlerContext) -> int:
    """Re-time open cases whose stored deadlines reach an uncovered year but are not 暂定.

    Deadlines stored before this check existed (or before a year dropped out of coverage)
    carry no mark; re-timing them sets it, logs it and refreshes their cards.
    """
    first = min((y for y in needed_years(session, ctx) if not ctx.calendar.covers(y)), default=None)
    if first is None:
        return 0
    start = datetime(first, 1, 1, tzinfo=ctx.calendar.hours.tz)
    stmt = select(Case).where(
        Case.status.in_(ACTIVE_STATUSES),
        Case.due_provisional.is_(False),
        Case.close_due_at >= start - timedelta(days=1),  # a local date, compared in UTC
    )
    count = 0
    for case in list(session.scalars(stmt.order_by(Case.id))):
        refresh_dues(session, case, ctx)
        if case.due_provisional:
            cards.refresh_cards(session, case)
            count += 1
    return count


def _told(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxItem.id).where(OutboxItem.dedupe_key == key)) is not None


def refresh_provisional(session: Session, ctx: HandlerContext) -> int:
    """Recompute the deadlines of open 暂定 cases (after a calendar import); returns how many."""
    stmt = select(Case).where(Case.status.in_(ACTIVE_STATUSES), Case.due_provisional.is_(True))
    count = 0
    for case in list(session.scalars(stmt.order_by(Case.id))):
        refresh_dues(session, case, ctx)
        cards.refresh_cards(session, case)  # the 时限 line loses its （暂定）
        count += 1
    return count


def _local_year(ctx: HandlerContext, t: datetime) -> int:
    return t.astimezone(ctx.calendar.hours.tz).year
