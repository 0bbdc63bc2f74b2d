"""What became of an answer sent to the constituent: the case log, the card and the deputy know.

The outbox tells us, once per attempt that ends, whether the answer row was sent, held (WeCom's
kf rules: 48 hours without a message from the constituent, or the window's 5 messages used) or
failed for good. Each change of state is logged on the case (`answer_delivery`, with the answer
number) and shown on every card (送达情况). The person who answered hears about it only when the
answer did not go straight out: once when it is held or fails, and once more, "已送达", when a
held answer finally reaches the constituent. The confirmation at reply time says the answer is
being sent, never that it arrived (texts.reply_sending).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, queries, texts
from handlers.caselog import Actor, note
from handlers.context import HandlerContext
from handlers.lifecycle import Action
from handlers.queries import Person
from handlers.texts import cosign as ctexts
from storage.models import Case, CaseEvent, Deputy, OutboxItem, Staff, Station

DeliveryState = Literal["sending", "held", "failed", "sent"]
EVENT = "answer_delivery"
WINDOW_CLOSED = "window closed"  # the tag bot.wecom.budget puts on a hold's reason
_CODE = re.compile(r"\[([^\]]+)\]")
_KF_MSGID = re.compile(r"^lx(\d{1,18})i?$")  # bot/wecom/senders.py names kf messages so


@dataclass(frozen=True)
class Outcome:
    """How one attempt to send an answer ended (from the outbox row)."""

    case_id: int
    answer_seq: int
    status: str  # sent | held | failed
    error: str | None = None
    main_case_id: int | None = None  # set for a co-signer's copy of that case's answer


def on_outbox_outcome(session: Session, outcome: Outcome, ctx: HandlerContext) -> None:
    """Record an answer's delivery state; tell the answerer when it is held, fails or arrives."""
    if outcome.status not in ("sent", "held", "failed"):
        return
    if outcome.main_case_id is not None:
        from handlers.delivery_copies import on_copy_outcome  # it builds on this module

        on_copy_outcome(session, outcome, ctx)
        return
    case = queries.lock_case(session, outcome.case_id)
    if case is None:
        return
    before = delivery_state(session, case.id, outcome.answer_seq)
    if before == outcome.status:
        return  # e.g. a recheck held it again: the deputy already knows
    code = error_code(outcome.error) if outcome.status == "failed" else ""
    note(
        session,
        case,
        EVENT,
        Actor.system(),
        ctx.now,
        answer_seq=outcome.answer_seq,
        state=outcome.status,
        error=(outcome.error or "")[:300],
        code=code,
    )
    text = _message(session, case, outcome, before, code)
    if text:
        text += _with_cosigners(session, case, outcome.answer_seq)
    answerer = answerer_of(session, case)
    if text and answerer is not None:
        cards.tell(session, [answerer], text, case_id=case.id)
    cards.refresh_cards(session, case)


def _message(
    session: Session, case: Case, outcome: Outcome, before: DeliveryState, code: str
) -> str | None:
    if outcome.status == "sent":
        # straight out: the card says 已送达; after a hold or a failure: tell them once
        return texts.answer_delivered(case.id) if before in ("held", "failed") else None
    if outcome.status == "held":
        closed = (outcome.error or "").startswith(WINDOW_CLOSED)
        return texts.answer_held(case.id, closed=closed, staff_told=_staff_reachable(session, case))
    return texts.answer_failed(case.id, code or "?", texts.send_error_meaning(code))


def _with_cosigners(session: Session, case: Case, answer_seq: int) -> str:
    """「目前答复已送达 3 位群众中的 2 位；…」 when co-signers got copies of the answer."""
    from handlers.delivery_copies import recipients, summary

    people = recipients(session, case, answer_seq)
    return ctexts.delivery_report_suffix(summary(people)) if len(people) > 1 else ""


def after_send_failure(
    session: Session, failed_msgid: str, fail_type: int | None, ctx: HandlerContext
) -> bool:
    """WeCom's msg_send_fail for one of our kf msgids (`lx<outbox id>`): if it carried an
    answer, that answer did not arrive after all. True when it was an answer."""
    found = _KF_MSGID.match(failed_msgid or "")
    row = session.get(OutboxItem, int(found.group(1))) if found else None
    if row is None or row.case_id is None or row.kind != "to_constituent":
        return False
    seq = row.payload.get("answer_seq")
    if not isinstance(seq, int):
        return False
    error = f"[msg_send_fail] fail_type={fail_type if fail_type is not None else '?'}"
    copy_of = row.payload.get("answer_of")
    main = copy_of if isinstance(copy_of, int) else None
    on_outbox_outcome(session, Outcome(row.case_id, seq, "failed", error, main), ctx)
    return True


def _staff_reachable(session: Session, case: Case) -> bool:
    """Whether bot/wecom/budget.py had someone to tell: station staff or group, else office."""
    station = session.get(Station, case.station_id) if case.station_id else None
    if station is not None and station.dingtalk_group_id:
        return True
    return bool(
        queries.station_staff(session, case.station_id)
        or queries.office_staff(session, station.region_id if station else case.region_id)
    )


def error_code(error: str | None) -> str:
    """The code in a stored send error (`[95018] ...`), '' when there is none."""
    found = _CODE.search(error or "")
    return found.group(1) if found else ""


def delivery_state(session: Session, case_id: int, answer_seq: int) -> DeliveryState:
    """The latest known delivery state of answer `answer_seq` ("sending" until one is known)."""
    latest = _latest(session, case_id, answer_seq)
    state = latest.payload.get("state") if latest is not None else None
    return state if state in ("held", "failed", "sent") else "sending"


def card_label(session: Session, case: Case) -> str | None:
    """The card's 送达情况 for the current answer; None when the case has no answer."""
    if not case.answer or not case.answer_seq:
        return None
    from handlers.delivery_copies import report_for

    report = report_for(session, case)  # with co-signers: everyone the answer went to
    if report is not None:
        return report
    latest = _latest(session, case.id, case.answer_seq)
    if latest is None:
        return texts.delivery_label("sending")
    return texts.delivery_label(str(latest.payload.get("state")), str(latest.payload.get("code")))


def _latest(session: Session, case_id: int, answer_seq: int) -> CaseEvent | None:
    stmt = (
        select(CaseEvent)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind == EVENT)
        .order_by(CaseEvent.id.desc())
    )
    for event in session.scalars(stmt):
        # a co-signer's copy of another case's answer (answer_of) is not this case's answer
        if event.payload.get("answer_seq") == answer_seq and not event.payload.get("answer_of"):
            return event
    return None


def answerer_of(session: Session, case: Case) -> Person | None:
    """Who gave the current answer: the deputy or staff member who replied, else the handler."""
    stmt = (
        select(CaseEvent)
        .where(
            CaseEvent.case_id == case.id,
            CaseEvent.kind == "transition",
            CaseEvent.action.in_((Action.REPLY.value, Action.DEPT_ANSWER.value)),
        )
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    event = session.scalars(stmt).first()
    if event is not None and event.actor_id and event.actor_id.isdigit():
        if event.actor_kind == "deputy":
            deputy = session.get(Deputy, int(event.actor_id))
            if deputy is not None:
                return queries.deputy_person(session, deputy)
        elif event.actor_kind == "staff":
            staff = session.get(Staff, int(event.actor_id))
            if staff is not None:
                return queries.staff_person(staff)
    return queries.assignee_of(session, case)
