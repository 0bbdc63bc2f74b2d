"""SLA deadlines in working time, the need_info pause, and the escalation ladder.

Deadlines are counted from the moment the case was opened, under the policy of its region
(inherited downward, overridable), and pushed back by the working time spent waiting for the
constituent. They are recomputed and stored at every transition.

The ladder: step 1 reminds the assignee on the card, step 2 @-mentions station staff in the
group, step 3 alerts the office. Each (phase, step) fires at most once per case: the guard is
`Case.escalation_level`, which only ever grows and encodes both as ``phase_index * 3 + step``
(claim 1–3, answer 4–6, close 7–9).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handlers import cards, queries, texts
from handlers.caselog import Actor, note
from handlers.context import HandlerContext
from handlers.queries import Person
from handlers.workcal import SlaPolicy, due_times
from storage.models import Case, Station
from storage.models.cases import BOT_SOURCE

PHASES = ("claim", "answer", "close")
STEPS = 3
MAX_LEVEL = len(PHASES) * STEPS
ACTIVE_STATUSES = ("new", "assigned", "accepted", "reopened", "transferred")
_ACTIVE = ACTIVE_STATUSES


# ---------------------------------------------------------------- SLA


def policy_for(session: Session, region_id: int | None, ctx: HandlerContext) -> SlaPolicy:
    """The SLA policy of a region: its own overrides, then its ancestors', then the defaults."""
    chain: list[dict[str, float | None]] = [
        {
            "claim_days": r.sla_claim_days,
            "answer_days": r.sla_answer_days,
            "close_days": r.sla_close_days,
        }
        for r in queries.region_chain(session, region_id)
    ]
    chain.append(dict(asdict(ctx.sla_defaults)))
    return SlaPolicy.inherit(chain)


def refresh_dues(session: Session, case: Case, ctx: HandlerContext) -> None:
    """Recompute and store the case's deadlines (call after every transition)."""
    paused = case.paused_seconds
    if case.paused_at is not None:  # still waiting: count the pause so far
        paused += max(0.0, ctx.calendar.working_seconds_between(case.paused_at, ctx.now))
    dues = due_times(
        policy_for(session, case.region_id, ctx), ctx.calendar, case.created_at, paused
    )
    case.claim_due_at = dues.claim_due
    case.answer_due_at = dues.answer_due
    case.close_due_at = dues.close_due
    was_provisional = bool(case.due_provisional)
    case.due_provisional = dues.provisional
    if dues.provisional != was_provisional:
        # the log says why a deadline is 暂定 (or no longer): a year without holiday data
        kind = "due_provisional" if dues.provisional else "due_confirmed"
        note(
            session,
            case,
            kind,
            Actor.system(),
            ctx.now,
            years=list(dues.uncovered),
            close_due=dues.close_due.isoformat(),
        )


def pause_clock(case: Case, ctx: HandlerContext) -> None:
    """Stop the SLA clock while the constituent is asked for more detail."""
    if case.paused_at is None:
        case.paused_at = ctx.now


def resume_clock(case: Case, ctx: HandlerContext) -> None:
    """Restart the SLA clock, adding the working time spent waiting to the pause total."""
    if case.paused_at is not None:
        waited = ctx.calendar.working_seconds_between(case.paused_at, ctx.now)
        case.paused_seconds = case.paused_seconds + max(0.0, waited)
        case.paused_at = None


# ---------------------------------------------------------------- ladder


def run_due(session: Session, ctx: HandlerContext) -> int:
    """Fire every escalation step that is due; returns how many steps fired."""
    now = ctx.now
    stmt = (
        select(Case.id)
        .where(
            Case.source == BOT_SOURCE,  # imported work orders (12345) run their own clock
            Case.status.in_(_ACTIVE),
            Case.escalation_level < MAX_LEVEL,
            or_(Case.claim_due_at <= now, Case.answer_due_at <= now, Case.close_due_at <= now),
        )
        .order_by(Case.id)
    )
    fired = 0
    for case_id in list(session.scalars(stmt)):
        case = queries.lock_case(session, case_id)
        if case is not None:
            fired += escalate_case(session, case, ctx)
    return fired


def escalate_case(session: Session, case: Case, ctx: HandlerContext) -> int:
    """Fire the due steps of the case's running phase, each once; returns how many fired."""
    deadline = queries.current_deadline(case)
    if deadline is None:
        return 0
    phase, due = deadline
    base = PHASES.index(phase) * STEPS
    fired = 0
    for step, hours in enumerate(ctx.ladder.offsets, start=1):
        level = base + step
        if case.escalation_level >= level:
            continue
        if ctx.now < ctx.calendar.add_working_seconds(due, hours * 3600):
            break
        recipients = _fire(session, case, phase, step, due, ctx)
        case.escalation_level = level
        note(
            session,
            case,
            "escalated",
            Actor.system(),
            ctx.now,
            step=step,
            phase=phase,
            level=level,
            due=due.isoformat(),
            recipients=recipients,
        )
        fired += 1
    return fired


def _fire(
    session: Session, case: Case, phase: str, step: int, due: datetime, ctx: HandlerContext
) -> list[str]:
    station = session.get(Station, case.station_id) if case.station_id else None
    handler = queries.assignee_of(session, case)
    if step == 1:
        return _remind_assignee(session, case, handler, phase, due)
    who = handler.title if handler else None
    station_name = station.name if station else texts.station_unknown()
    if step == 2:
        text = texts.escalation_station_staff(case.id, station_name, who, phase, due)
        return _alert_station(session, case, station, text)
    text = texts.escalation_office(case.id, station_name, who, phase, due)
    return _alert_office(session, case, text, ctx)


def _remind_assignee(
    session: Session, case: Case, handler: Person | None, phase: str, due: datetime
) -> list[str]:
    text = texts.escalation_remind_assignee(case.id, phase, due)
    cards.refresh_cards(session, case, note=text)
    if handler is None:
        return ["card"]
    cards.tell(session, [handler], text, case_id=case.id)
    return ["card", f"{handler.kind}:{handler.id}"]


def _alert_station(session: Session, case: Case, station: Station | None, text: str) -> list[str]:
    staff = queries.station_staff(session, case.station_id)
    at = [s.dingtalk_user_id for s in staff if s.dingtalk_user_id]
    if station is not None and station.dingtalk_group_id:
        cards.tell_group(session, station.dingtalk_group_id, text, at=at, case_id=case.id)
        return [f"group:{station.dingtalk_group_id}", *(f"staff:{s.id}" for s in staff)]
    if staff:
        cards.tell(session, cards.staff_people(staff), text, case_id=case.id)
    return [f"staff:{s.id}" for s in staff]


def _alert_office(session: Session, case: Case, text: str, ctx: HandlerContext) -> list[str]:
    for region in queries.region_chain(session, case.region_id):
        if region.office_group_id:
            cards.tell_group(session, region.office_group_id, text, case_id=case.id)
            return [f"group:{region.office_group_id}"]
    if ctx.office_group_id:
        cards.tell_group(session, ctx.office_group_id, text, case_id=case.id)
        return [f"group:{ctx.office_group_id}"]
    staff = queries.office_staff(session, case.region_id)
    cards.tell(session, cards.staff_people(staff), text, case_id=case.id)
    return [f"staff:{s.id}" for s in staff]
