"""Co-signers' copies of an answer in the delivery report (附议, docs/delivery.md).

Each co-signer gets the main case's answer as a row of their own (`ToConstituent.answer_of` =
the main case). Its outcome is logged on the co-signer's case (`answer_delivery` with
`answer_of`), counted with the main constituent's in one report — 「答复已送达 3 位群众中的 2 位；
1 位暂缓（#15，…）」 on the main card — and told to whoever answered when a copy is held or fails,
and once more when a held or failed copy finally arrives.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, queries, texts
from handlers.caselog import Actor, note
from handlers.context import HandlerContext
from handlers.cosign_card import cosigners_of
from handlers.delivery import (
    EVENT,
    WINDOW_CLOSED,
    DeliveryState,
    Outcome,
    answerer_of,
    delivery_state,
    error_code,
)
from handlers.texts import cosign as ctexts
from storage.models import Case, CaseEvent


@dataclass(frozen=True)
class Recipient:
    """One constituent an answer was sent to: their case number and what became of it."""

    case_id: int
    state: DeliveryState


def copy_state(session: Session, own_id: int, main_id: int, answer_seq: int) -> DeliveryState:
    """The latest known state of the co-signer's copy of answer `answer_seq` of `main_id`."""
    stmt = (
        select(CaseEvent)
        .where(CaseEvent.case_id == own_id, CaseEvent.kind == EVENT)
        .order_by(CaseEvent.id.desc())
    )
    for event in session.scalars(stmt):
        p = event.payload
        if p.get("answer_of") == main_id and p.get("answer_seq") == answer_seq:
            state = p.get("state")
            return state if state in ("held", "failed", "sent") else "sending"
    return "sending"


def recipients(session: Session, main: Case, answer_seq: int) -> list[Recipient]:
    """The main constituent, then each co-signer, with the state of their copy of the answer."""
    out = [Recipient(main.id, delivery_state(session, main.id, answer_seq))]
    for own_id in cosigners_of(session, main.id):
        out.append(Recipient(own_id, copy_state(session, own_id, main.id, answer_seq)))
    return out


def summary(people: list[Recipient]) -> str:
    """「答复已送达 3 位群众中的 2 位；1 位暂缓（#15，…）」 over everyone the answer went to."""
    by_state: dict[str, list[int]] = {}
    for person in people:
        by_state.setdefault(person.state, []).append(person.case_id)
    return ctexts.delivery_summary(
        len(people),
        len(by_state.get("sent", [])),
        by_state.get("held", []),
        by_state.get("failed", []),
    )


def report_for(session: Session, case: Case) -> str | None:
    """The summary for a case's current answer when co-signers got copies; None without any."""
    if not case.answer or not case.answer_seq or not cosigners_of(session, case.id):
        return None
    return summary(recipients(session, case, case.answer_seq))


def on_copy_outcome(session: Session, outcome: Outcome, ctx: HandlerContext) -> None:
    """Record a co-signer's copy's state; tell the answerer when it is held, fails or arrives."""
    assert outcome.main_case_id is not None
    main = queries.lock_case(session, outcome.main_case_id)
    own = session.get(Case, outcome.case_id)
    if main is None or own is None:
        return
    before = copy_state(session, own.id, main.id, outcome.answer_seq)
    if before == outcome.status:
        return  # a recheck held it again: the answerer already knows
    code = error_code(outcome.error) if outcome.status == "failed" else ""
    note(
        session,
        own,
        EVENT,
        Actor.system(),
        ctx.now,
        answer_seq=outcome.answer_seq,
        answer_of=main.id,
        state=outcome.status,
        error=(outcome.error or "")[:300],
        code=code,
    )
    now = summary(recipients(session, main, outcome.answer_seq))
    text = _message(main.id, own.id, outcome, before, code, now)
    answerer = answerer_of(session, main)
    if text and answerer is not None:
        cards.tell(session, [answerer], text, case_id=main.id)
    cards.refresh_cards(session, main)


def _message(
    main_id: int, own_id: int, outcome: Outcome, before: DeliveryState, code: str, now: str
) -> str | None:
    if outcome.status == "sent":
        # straight out: the card's report says so; after a hold or failure: tell them once
        if before in ("held", "failed"):
            return ctexts.copy_delivered(main_id, own_id, now)
        return None
    if outcome.status == "held":
        closed = (outcome.error or "").startswith(WINDOW_CLOSED)
        return ctexts.copy_held(main_id, own_id, closed=closed, report=now)
    return ctexts.copy_failed(main_id, own_id, code or "?", texts.send_error_meaning(code), now)
