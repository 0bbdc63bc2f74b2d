"""Answers and ratings: the answer and the rating menu go out, and the constituent's choice counts.

A rating counts only from the case's own constituent, once per answer (`Rating` is unique on
case and answer number). 满意 / 基本满意 close the case; 不满意 reopens it to the same handler,
copies station staff and asks one optional short reason; no rating within `rating_days` closes
it as expired with an `unrated` rating (未评价, never counted as 满意).

The handler and station staff hear of a 不满意 once: with the reason when it comes within
`reason_wait_minutes`, else (from the periodic `notify_unexplained`) saying none was given. A
reason that comes later still is logged and shown on the card, without another message.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, cosign, escalation, queries, texts
from handlers.caselog import Actor, note, transition
from handlers.context import HandlerContext
from handlers.lifecycle import Action, Status
from handlers.notices import MenuItem, ToConstituent, queue_notice
from storage.models import Case, CaseEvent, Constituent, Message, Rating
from storage.models.cases import BOT_SOURCE

# Menu id code ↔ stored Rating.value.
MENU_CODES = {"satisfied": "ok", "basic": "basic", "unsatisfied": "bad"}
VALUES_BY_CODE = {code: value for value, code in MENU_CODES.items()}
AWAIT_REASON = "await_reason"
REWORK_NOTIFIED = "rework_notified"  # case event: the 不满意 of one answer was reported


def constituent_actor(person: Constituent) -> Actor:
    """The constituent as the actor of a case event."""
    return Actor("constituent", str(person.id), "wecom")


def menu_id(case: Case, value: str) -> str:
    """The id of one rating menu item: rate:<case>:<answer number>:<ok|basic|bad>."""
    return f"rate:{case.id}:{case.answer_seq}:{MENU_CODES[value]}"


def record_answer(
    session: Session, case: Case, text: str, ctx: HandlerContext, *, department: str | None = None
) -> None:
    """Store an answer (after the REPLY / DEPT_ANSWER transition) and send it with the menu."""
    case.answer = text
    case.answer_seq += 1
    case.answered_at = ctx.now
    if case.first_answered_at is None:
        case.first_answered_at = ctx.now
    case.rating_due_at = ctx.now + timedelta(days=ctx.rating_days)
    escalation.refresh_dues(session, case, ctx)
    if department is not None:
        body = texts.department_answer(department, case.id, text)
    else:
        body = texts.answer_to_constituent(
            queries.handler_public_name(session, case) or texts.staff_public_title(), case.id, text
        )
    answer = ToConstituent(case.constituent_id, body, purpose="answer", answer_seq=case.answer_seq)
    queue_notice(session, answer, case_id=case.id)
    items = tuple(MenuItem(menu_id(case, v), label) for v, label in texts.rating_options())
    queue_notice(
        session,
        ToConstituent(
            case.constituent_id, texts.rating_head(case.id), menu=items, purpose="rating"
        ),
        case_id=case.id,
    )
    cosign.share_answer(session, case)  # co-signers (附议) get every answer of the main case


def _say(session: Session, person: Constituent, text: str, case_id: int | None = None) -> None:
    queue_notice(session, ToConstituent(person.id, text, purpose="info"), case_id=case_id)


def parse_menu_id(raw: str) -> tuple[int, int, str] | None:
    """(case id, answer number, rating value) from a rating menu id, None if malformed."""
    parts = raw.split(":")
    if len(parts) != 4 or parts[0] != "rate" or parts[3] not in VALUES_BY_CODE:
        return None
    if not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return int(parts[1]), int(parts[2]), VALUES_BY_CODE[parts[3]]


def on_rate(
    session: Session, person: Constituent, raw: str, msg: Message, ctx: HandlerContext
) -> None:
    """A tap on a rating menu item."""
    parsed = parse_menu_id(raw)
    if parsed is None:
        _say(session, person, texts.ask_to_describe())
        return
    case_id, seq, value = parsed
    case = queries.lock_case(session, case_id)
    if case is None:
        _say(session, person, texts.rating_not_open(case_id))
        return
    if case.constituent_id != person.id:
        _say(session, person, texts.rating_not_yours())
        return
    msg.case_id = case.id
    if _rating_of(session, case.id, seq) is not None:
        _say(session, person, texts.already_rated(case.id), case.id)
        return
    if case.status == Status.MERGED:  # a co-signer rates the main case's answer on their row
        if not cosign.rate(session, case, person, seq, value, ctx):
            _say(session, person, texts.rating_not_open(case.id), case.id)
        return
    if case.status != Status.REPLIED or seq != case.answer_seq:
        _say(session, person, texts.rating_not_open(case.id), case.id)
        return
    session.add(
        Rating(
            case_id=case.id,
            answer_seq=seq,
            constituent_id=person.id,
            value=value,
            created_at=ctx.now,
        )
    )
    if value == "unsatisfied":
        _unsatisfied(session, case, person, ctx)
    else:
        _satisfied(session, case, person, value, ctx)
    cards.refresh_cards(session, case)


def _rating_of(session: Session, case_id: int, seq: int) -> Rating | None:
    stmt = select(Rating).where(Rating.case_id == case_id, Rating.answer_seq == seq)
    return session.scalars(stmt).first()


def _satisfied(
    session: Session, case: Case, person: Constituent, value: str, ctx: HandlerContext
) -> None:
    transition(
        session,
        case,
        Action.RATE_OK,
        constituent_actor(person),
        ctx.now,
        value=value,
        answer_seq=case.answer_seq,
    )
    case.rating = value
    case.closed_at = ctx.now
    case.rating_due_at = None
    escalation.refresh_dues(session, case, ctx)
    _say(session, person, texts.rating_thanks(case.id, value), case.id)
    handler = queries.assignee_of(session, case)
    if handler is not None:
        cards.tell(session, [handler], texts.rating_to_handler(case.id, value), case_id=case.id)


def _unsatisfied(session: Session, case: Case, person: Constituent, ctx: HandlerContext) -> None:
    transition(
        session,
        case,
        Action.RATE_BAD,
        constituent_actor(person),
        ctx.now,
        value="unsatisfied",
        answer_seq=case.answer_seq,
        rework=case.rework_count + 1,
    )
    case.rating = "unsatisfied"
    case.rework_count += 1
    case.rating_due_at = None
    escalation.refresh_dues(session, case, ctx)
    person.state = AWAIT_REASON
    person.state_case_id = case.id
    _say(session, person, texts.unsatisfied_follow_up(case.id), case.id)
    # the handler and staff are told once the reason is in (or the wait is over)


def _notified(session: Session, case_id: int, answer_seq: int) -> bool:
    stmt = select(CaseEvent.payload).where(
        CaseEvent.case_id == case_id, CaseEvent.kind == REWORK_NOTIFIED
    )
    return any(p.get("answer_seq") == answer_seq for p in session.scalars(stmt))


def _report_rework(
    session: Session, case: Case, answer_seq: int, reason: str | None, ctx: HandlerContext
) -> None:
    """The one message per 不满意 to the handler and station staff (with the reason if any)."""
    note(
        session,
        case,
        REWORK_NOTIFIED,
        Actor.system(),
        ctx.now,
        answer_seq=answer_seq,
        with_reason=reason is not None,
    )
    _tell_rework(session, case, reason)


def notify_unexplained(session: Session, ctx: HandlerContext) -> int:
    """Periodic: report each 不满意 whose reason did not come within the wait; returns how many."""
    waited = ctx.now - timedelta(minutes=ctx.reason_wait_minutes)
    oldest = ctx.now - timedelta(hours=max(ctx.reason_window_hours, 1))
    stmt = (
        select(Rating.id)
        .where(
            Rating.value == "unsatisfied",
            Rating.reason.is_(None),
            Rating.created_at <= waited,
            Rating.created_at >= oldest,
        )
        .order_by(Rating.id)
    )
    told = 0
    for rating_id in list(session.scalars(stmt)):
        rating = session.get(Rating, rating_id)
        case = queries.lock_case(session, rating.case_id) if rating is not None else None
        if rating is None or case is None:
            continue
        session.refresh(rating)  # the reason may have come in meanwhile
        if rating.reason is not None or _notified(session, case.id, rating.answer_seq):
            continue
        _report_rework(session, case, rating.answer_seq, None, ctx)
        told += 1
    return told


def _tell_rework(session: Session, case: Case, reason: str | None) -> None:
    """The handler gets the case back; station staff get a copy."""
    handler = queries.assignee_of(session, case)
    if handler is not None:
        cards.tell(session, [handler], texts.reopened_to_handler(case.id, reason), case_id=case.id)
    staff = [
        p
        for p in cards.staff_people(queries.station_staff(session, case.station_id))
        if handler is None or (p.kind, p.id) != (handler.kind, handler.id)
    ]
    if staff:
        who = handler.title if handler else texts.unassigned()
        cards.tell(session, staff, texts.reopened_to_staff(case.id, who, reason), case_id=case.id)


def take_reason(
    session: Session, person: Constituent, text: str, msg: Message, ctx: HandlerContext
) -> bool:
    """Treat `text` as the reason for a recent 不满意; False when there is none to explain."""
    case_id = person.state_case_id
    person.state = None
    person.state_case_id = None
    case = queries.lock_case(session, case_id) if case_id is not None else None
    if case is None or case.constituent_id != person.id:
        return False
    stmt = (
        select(Rating)
        .where(Rating.case_id == case.id, Rating.value == "unsatisfied", Rating.reason.is_(None))
        .order_by(Rating.id.desc())
    )
    rating = session.scalars(stmt).first()
    window = timedelta(hours=ctx.reason_window_hours)
    if rating is None or ctx.now - rating.created_at > window:
        return False
    rating.reason = text
    msg.case_id = case.id
    note(
        session,
        case,
        "rating_reason",
        constituent_actor(person),
        ctx.now,
        reason=text,
        answer_seq=rating.answer_seq,
    )
    if not _notified(session, case.id, rating.answer_seq):
        _report_rework(session, case, rating.answer_seq, text, ctx)
    else:  # reported already (the wait was over): the card shows the reason
        cards.refresh_cards(session, case)
    who = queries.handler_public_name(session, case) or texts.staff_public_title()
    _say(session, person, texts.reopened_notice(case.id, who), case.id)
    return True


def expire_unrated(session: Session, ctx: HandlerContext) -> int:
    """Close answered cases left unrated past their rating deadline as 未评价; returns how many."""
    stmt = (
        select(Case.id)
        .where(
            Case.source == BOT_SOURCE,  # 12345 work orders are rated by the hotline
            Case.status == Status.REPLIED.value,
            Case.rating_due_at <= ctx.now,
        )
        .order_by(Case.id)
    )
    closed = 0
    for case_id in list(session.scalars(stmt)):
        case = queries.lock_case(session, case_id)
        if case is None or case.status != Status.REPLIED or case.rating_due_at is None:
            continue
        if case.rating_due_at > ctx.now:
            continue
        _expire(session, case, ctx)
        closed += 1
    return closed + cosign.expire_unrated(session, ctx)  # co-signers (附议) too


def _expire(session: Session, case: Case, ctx: HandlerContext) -> None:
    transition(session, case, Action.EXPIRE, Actor.system(), ctx.now, answer_seq=case.answer_seq)
    if _rating_of(session, case.id, case.answer_seq) is None:
        session.add(Rating.unrated(case, case.answer_seq, ctx.now))
    case.rating = "unrated"
    case.closed_at = ctx.now
    case.rating_due_at = None
    escalation.refresh_dues(session, case, ctx)
    queue_notice(
        session, ToConstituent(case.constituent_id, texts.closed_unrated(case.id)), case_id=case.id
    )
    handler = queries.assignee_of(session, case)
    if handler is not None:
        cards.tell(session, [handler], texts.rating_to_handler(case.id, "unrated"), case_id=case.id)
    cards.refresh_cards(session, case)
