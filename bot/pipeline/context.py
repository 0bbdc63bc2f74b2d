"""The handlers' view of the service: configuration, the service clock, dispatch."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.runtime import Runtime, clock_offset_column, service_time

if TYPE_CHECKING:
    from handlers.context import HandlerContext
    from handlers.events import InboundEvent
    from storage.calendar.store import Stamp


def handler_context(rt: Runtime, session: Session) -> HandlerContext:
    """The handlers' view of configuration and the service clock.

    Every event needs both the clock offset and whether the office's calendar changed: one
    round trip for the two.
    """
    from storage.calendar.store import calendar_stamp_columns

    offset, years, latest = session.execute(
        select(clock_offset_column(), *calendar_stamp_columns())
    ).one()
    return build_context(rt.settings, session, service_time(offset), (years, latest))


def build_context(
    settings: Settings, session: Session, now: datetime, calendar_stamp: Stamp | None = None
) -> HandlerContext:
    """The handler context for `settings` at `now` (commands that need no Redis use this)."""
    from bot.workcal_config import work_calendar
    from handlers.context import HandlerContext
    from handlers.workcal import SlaPolicy

    sla = settings.sla
    return HandlerContext(
        now=now,
        # the office's own calendar data goes ahead of the chinese_calendar library
        calendar=work_calendar(settings, session, calendar_stamp),
        sla_defaults=SlaPolicy(sla.claim_days, sla.answer_days, sla.close_days),
        rating_days=sla.rating_days,
        reason_wait_minutes=sla.reason_wait_minutes,
        office_group_id=settings.dingtalk.staff_group_id or None,
        episode_days=settings.insight.episode_days,
        solicit_cards=bool(settings.dingtalk.solicit_card_template_id),
        auto_merge_score=settings.insight.auto_merge_score if settings.insight.auto_merge else None,
    )


def dispatch_event(rt: Runtime, session: Session, event: InboundEvent) -> None:
    """Hand a neutral event to the handlers inside the inbox job's transaction."""
    from handlers.dispatch import handle

    handle(session, event, handler_context(rt, session))
