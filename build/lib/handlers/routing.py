"""Routing: station → the deputy on duty (roster, leave, substitutes) → fewest open cases → staff.

The duty day is the local date of the next working moment: a case raised on Sunday goes to
Monday's deputy, whose clock only starts then anyway. Every decision is logged on the case with
its reason (the `route` transition's payload, or a `routed` note when nobody could take it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, escalation, queries, texts
from handlers.caselog import Actor, note, transition
from handlers.context import HandlerContext
from handlers.lifecycle import Action
from storage.models import Case, Deputy, Leave, RosterSlot, Staff, Station


@dataclass(frozen=True)
class Candidate:
    """A deputy on duty, and why (their own slot, or standing in for someone on leave)."""

    deputy: Deputy
    reason: str  # roster | substitute
    stands_in_for: str | None = None


@dataclass(frozen=True)
class RouteDecision:
    """Who gets the case and why; both None when nobody can take it."""

    deputy: Deputy | None
    staff: Staff | None
    reason: str  # roster | substitute | tie_break | staff_fallback | office_fallback | no_handler
    detail: dict[str, Any] = field(default_factory=dict)


def duty_day(ctx: HandlerContext) -> date:
    """The local date whose roster applies: today if it is a working day and not over, else next."""
    moment = ctx.calendar.next_working_moment(ctx.now)
    return moment.astimezone(ctx.calendar.hours.tz).date()


def on_duty(session: Session, station_id: int, day: date) -> list[Candidate]:
    """Deputies on duty at the station on `day`, with leave and substitutes applied."""
    slots = session.scalars(
        select(RosterSlot)
        .where(RosterSlot.station_id == station_id, RosterSlot.weekday == day.weekday())
        .order_by(RosterSlot.id)
    )
    found: dict[int, Candidate] = {}
    for slot in slots:
        deputy = session.get(Deputy, slot.deputy_id)
        if deputy is None or not deputy.active:
            continue
        leave = _leave_on(session, deputy.id, day)
        if leave is None:
            found.setdefault(deputy.id, Candidate(deputy, "roster"))
            continue
        sub = session.get(Deputy, leave.substitute_id) if leave.substitute_id else None
        if sub is not None and sub.active and _leave_on(session, sub.id, day) is None:
            found.setdefault(sub.id, Candidate(sub, "substitute", deputy.name))
    return list(found.values())


def _leave_on(session: Session, deputy_id: int, day: date) -> Leave | None:
    stmt = select(Leave).where(
        Leave.deputy_id == deputy_id, Leave.start_date <= day, Leave.end_date >= day
    )
    return session.scalars(stmt.order_by(Leave.id)).first()


def choose_handler(session: Session, station: Station, ctx: HandlerContext) -> RouteDecision:
    """The deputy on duty (fewest open cases breaks ties), else station staff, else the office."""
    day = duty_day(ctx)
    candidates = on_duty(session, station.id, day)
    detail: dict[str, Any] = {"station_id": station.id, "duty_day": day.isoformat()}
    if candidates:
        loads = {
            c.deputy.id: queries.open_case_count(session, deputy_id=c.deputy.id) for c in candidates
        }
        best = min(candidates, key=lambda c: (loads[c.deputy.id], c.deputy.id))
        detail.update(deputy_id=best.deputy.id, on_duty=[c.deputy.id for c in candidates])
        if best.stands_in_for:
            detail["stands_in_for"] = best.stands_in_for
        if len(candidates) > 1:
            detail["open_cases"] = {str(k): v for k, v in loads.items()}
            return RouteDecision(best.deputy, None, "tie_break", detail)
        return RouteDecision(best.deputy, None, best.reason, detail)
    staff = queries.station_staff(session, station.id)
    reason = "staff_fallback"
    if not staff:
        staff, reason = queries.office_staff(session, station.region_id), "office_fallback"
    if not staff:
        return RouteDecision(None, None, "no_handler", detail)
    pick = min(staff, key=lambda s: (queries.open_case_count(session, staff_id=s.id), s.id))
    detail["staff_id"] = pick.id
    return RouteDecision(None, pick, reason, detail)


def route_case(session: Session, case: Case, ctx: HandlerContext, station_source: str) -> bool:
    """Assign a case that has a station; post its cards. False when nobody could take it."""
    station = session.get(Station, case.station_id) if case.station_id else None
    if station is None:
        return False
    case.region_id = station.region_id
    decision = choose_handler(session, station, ctx)
    payload = {
        "reason": decision.reason,
        "reason_text": texts.route_reason(decision.reason, decision.detail.get("stands_in_for")),
        "station_source": station_source,
        **decision.detail,
    }
    if decision.deputy is None and decision.staff is None:
        note(session, case, "routed", Actor.system(), ctx.now, **payload)
        escalation.refresh_dues(session, case, ctx)
        return False
    transition(session, case, Action.ROUTE, Actor.system(), ctx.now, **payload)
    case.assignee_deputy_id = decision.deputy.id if decision.deputy else None
    case.assignee_staff_id = decision.staff.id if decision.staff else None
    escalation.refresh_dues(session, case, ctx)
    session.flush()
    cards.post_assignment_cards(session, case)
    return True
