"""意见征集 and questionnaires: create and deliver, answer on the card, remind, close.

A solicitation goes to every deputy in its audience as one markdown card per batch of ≤ 20
deputies (DingTalk batchSend), each batch an outbox row with its own dedupe key, so a retried
create or send never reaches a deputy twice. Answers come back as text (`#征集3 1A`, typed or
sent by a card link) and may be changed until the deadline; after it they are refused politely.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, queries
from handlers.cards import ReplyTarget
from handlers.context import HandlerContext
from handlers.duties import answers, texts
from handlers.duties.spec import Audience, SolicitSpec, questions_from_json
from handlers.notices import (
    PostSolicitCards,
    RefreshSolicitCards,
    ToDingTalkUsers,
    queue_notice,
)
from handlers.queries import Person
from handlers.workcal import WorkCalendar
from storage.models import Deputy, DeputyStation, Solicitation, SolicitTarget, Station

BATCH = 20  # DingTalk batchSend takes at most 20 users
REMIND_AT = time(9, 0)  # reminders go out from 09:00 Beijing on their working day


@dataclass(frozen=True)
class Created:
    """A solicitation that went out, and to how many deputies in how many batches."""

    solicitation_id: int
    deputies: int
    batches: int


def resolve_audience(session: Session, audience: Audience) -> list[tuple[Deputy, int | None]]:
    """Active deputies in scope with the station they are counted under; LookupError if unknown."""
    if audience.region:
        region = queries.find_region(session, audience.region)
        if region is None:
            raise LookupError(f"no region {audience.region!r}")
        ids = queries.region_subtree_ids(session, region.id)
        station_ids = list(session.scalars(select(Station.id).where(Station.region_id.in_(ids))))
    elif audience.stations:
        station_ids = []
        for code in audience.stations:
            station = queries.find_station(session, code)
            if station is None:
                raise LookupError(f"no station {code!r}")
            station_ids.append(station.id)
    else:
        return _listed_deputies(session, audience.deputies)
    rows = session.execute(
        select(Deputy, DeputyStation.station_id)
        .join(DeputyStation, DeputyStation.deputy_id == Deputy.id)
        .where(DeputyStation.station_id.in_(station_ids), Deputy.active.is_(True))
        .order_by(Deputy.id, DeputyStation.station_id)
    ).all()
    first: dict[int, tuple[Deputy, int | None]] = {}
    for deputy, station_id in rows:
        first.setdefault(deputy.id, (deputy, station_id))  # counted under their first station
    return list(first.values())


def _listed_deputies(session: Session, codes: tuple[str, ...]) -> list[tuple[Deputy, int | None]]:
    out: dict[int, tuple[Deputy, int | None]] = {}
    for code in codes:
        deputy = session.scalar(select(Deputy).where(Deputy.code == code))
        if deputy is None:
            raise LookupError(f"no deputy {code!r}")
        station_id = session.scalar(
            select(DeputyStation.station_id)
            .where(DeputyStation.deputy_id == deputy.id)
            .order_by(DeputyStation.station_id)
            .limit(1)
        )
        out.setdefault(deputy.id, (deputy, station_id))
    return list(out.values())


def create(
    session: Session, ctx: HandlerContext, spec: SolicitSpec, created_by: str = "cli"
) -> Created:
    """Record the solicitation, one target row per deputy, and queue its cards."""
    if spec.deadline <= ctx.now:
        raise ValueError("the deadline is already past")
    people = resolve_audience(session, spec.audience)
    if not people:
        raise LookupError("the audience has no active deputies")
    sol = Solicitation(
        kind=spec.kind,
        title=spec.title,
        body=spec.body,
        documents=list(spec.documents),
        questions=[q.as_json() for q in spec.questions],
        secret=spec.secret,
        audience=spec.audience.as_json(),
        deadline=spec.deadline,
        remind_days=list(spec.remind_days),
        reminders_done=[],
        created_by=created_by,
        created_at=ctx.now,
    )
    session.add(sol)
    session.flush()
    session.add_all(
        SolicitTarget(
            solicitation_id=sol.id,
            deputy_id=d.id,
            station_id=station_id,
            status="sent",
            changes=0,
            sent_at=ctx.now,
        )
        for d, station_id in people
    )
    if ctx.solicit_cards:  # one template card per deputy, rendered at send time
        batches = queue_card_batches(session, sol.id, [d.id for d, _ in people], "send")
        return Created(sol.id, len(people), batches)
    title, text = texts.solicit_card(sol, spec.questions)
    users = [d.dingtalk_user_id for d, _ in people]
    batches = queue_batches(session, users, title, text, f"solicit:{sol.id}:send")
    return Created(sol.id, len(people), batches)


def queue_card_batches(
    session: Session, sol_id: int, deputy_ids: list[int], step: str, note: str = ""
) -> int:
    """Template mode: post (`send`) or refresh the deputies' cards, ≤ 20 per outbox row."""
    n = 0
    for n, i in enumerate(range(0, len(deputy_ids), BATCH), 1):
        chunk = tuple(deputy_ids[i : i + BATCH])
        notice: PostSolicitCards | RefreshSolicitCards = (
            PostSolicitCards(sol_id, chunk)
            if step == "send"
            else RefreshSolicitCards(sol_id, chunk, note)
        )
        # a refresh of one deputy may repeat (each answer); a post or close batch may not
        key = f"solicit:{sol_id}:{step}:{n}" if step in ("send", "close") else None
        queue_notice(session, notice, dedupe_key=key)
    return n


def queue_batches(
    session: Session, users: list[str], title: str | None, text: str, key: str
) -> int:
    """One outbox row per ≤ 20 users; the dedupe key makes each batch exactly-once."""
    n = 0
    for n, i in enumerate(range(0, len(users), BATCH), 1):
        queue_notice(
            session,
            ToDingTalkUsers(tuple(users[i : i + BATCH]), text, title=title),
            dedupe_key=f"{key}:{n}",
        )
    return n


def is_open(sol: Solicitation, now: datetime) -> bool:
    """Answers are taken until the deadline, unless staff closed it earlier."""
    return sol.closed_at is None and now < sol.deadline


def answer(
    session: Session,
    sol: Solicitation,
    row: SolicitTarget,
    rest: str,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> str:
    """A deputy's answer (or change) to a survey; a bad answer changes nothing.

    Returns the hint when the answer was refused ('' when it was recorded or only shown). A
    click on a template card is answered by the card itself: no 1:1 message on success.
    """
    questions = questions_from_json(sol.questions)
    if not rest.strip():
        cards.reply(session, target, texts.current_answers(sol, questions, row.answers or {}))
        return ""
    steps = answers.parse_steps(rest, questions)
    if isinstance(steps, str):
        cards.reply(session, target, steps)
        return steps
    old = dict(row.answers or {})
    new = answers.apply_steps(old, steps)
    missing = answers.missing(new, questions)
    changed = row.status == "answered" and new != old
    row.answers = new
    row.status = "partial" if missing else "answered"
    row.changes += int(changed)
    row.answered_at = ctx.now
    if target.from_text or not ctx.solicit_cards:  # a click shows the answers on its card
        cards.reply(session, target, texts.answers_recorded(sol, questions, new, missing, changed))
    return ""


def lock_target(session: Session, sol_id: int, person: Person) -> SolicitTarget | None:
    """The deputy's row of a solicitation, locked (two quick clicks never lose an answer)."""
    if person.kind != "deputy":
        return None
    stmt = (
        select(SolicitTarget)
        .where(SolicitTarget.solicitation_id == sol_id, SolicitTarget.deputy_id == person.id)
        .with_for_update()
    )
    return session.scalars(stmt).first()


# ---------------------------------------------------------------- reminders and the close


def reminder_day(calendar: WorkCalendar, deadline_day: date, days_before: int) -> date:
    """The working day `days_before` working days before the deadline's day."""
    day = deadline_day
    counted = 0
    while counted < days_before:
        day -= timedelta(days=1)
        if calendar.is_workday(day):
            counted += 1
    return day


def tick(session: Session, ctx: HandlerContext) -> int:
    """Periodic: close what is past its deadline, send due reminders; the number of steps."""
    from handlers.duties import vote

    steps = 0
    stmt = select(Solicitation).where(Solicitation.closed_at.is_(None)).with_for_update()
    for sol in session.scalars(stmt):
        if ctx.now >= sol.deadline:
            vote.close(session, sol, ctx, by="deadline")
            steps += 1
            continue
        steps += _due_reminders(session, sol, ctx)
    from handlers.duties import meeting, reading

    return steps + meeting.remind_due(session, ctx) + reading.remind_due(session, ctx)


def _due_reminders(session: Session, sol: Solicitation, ctx: HandlerContext) -> int:
    local_now = ctx.now.astimezone(texts.BEIJING)
    deadline_day = sol.deadline.astimezone(texts.BEIJING).date()
    done = [int(d) for d in sol.reminders_done]
    fired = 0
    for days in sorted({int(d) for d in sol.remind_days}, reverse=True):
        if days in done:
            continue
        day = reminder_day(ctx.calendar, deadline_day, days)
        if local_now.date() < day or (local_now.date() == day and local_now.time() < REMIND_AT):
            continue
        remind(session, sol, days)
        done.append(days)
        fired += 1
    if fired:
        sol.reminders_done = done  # a new list: JSON columns track assignment, not mutation
    return fired


def remind(session: Session, sol: Solicitation, days: int) -> int:
    """Remind the deputies who have not (fully) answered; how many were reminded."""
    stmt = (
        select(Deputy.dingtalk_user_id)
        .join(SolicitTarget, SolicitTarget.deputy_id == Deputy.id)
        .where(
            SolicitTarget.solicitation_id == sol.id,
            SolicitTarget.status.in_(("sent", "partial")),
        )
        .order_by(Deputy.id)
    )
    users = list(session.scalars(stmt))
    title, text = texts.solicit_reminder(sol, questions_from_json(sol.questions))
    queue_batches(session, users, title, text, f"solicit:{sol.id}:remind:{days}")
    return len(users)
