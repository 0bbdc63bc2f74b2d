"""The handlers' view of the service: configuration, the service clock, dispatch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.runtime import Runtime

if TYPE_CHECKING:
    from handlers.context import HandlerContext
    from handlers.events import InboundEvent


def handler_context(rt: Runtime, session: Session) -> HandlerContext:
    """The handlers' view of configuration and the service clock."""
    from datetime import time as dtime
    from zoneinfo import ZoneInfo

    from handlers.context import HandlerContext
    from handlers.workcal import SlaPolicy, WorkCalendar, WorkingHours

    sla = rt.settings.sla
    hours = WorkingHours(
        start=dtime.fromisoformat(sla.workday_start),
        end=dtime.fromisoformat(sla.workday_end),
        tz=ZoneInfo(sla.timezone),
    )
    return HandlerContext(
        now=rt.now(session),
        calendar=WorkCalendar(hours),
        sla_defaults=SlaPolicy(sla.claim_days, sla.answer_days, sla.close_days),
        rating_days=sla.rating_days,
        office_group_id=rt.settings.dingtalk.staff_group_id or None,
    )


def dispatch_event(rt: Runtime, session: Session, event: InboundEvent) -> None:
    """Hand a neutral event to the handlers inside the inbox job's transaction."""
    from handlers.dispatch import handle

    handle(session, event, handler_context(rt, session))
