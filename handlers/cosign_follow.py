"""A co-signer's later messages: while the main case is open they reach its handler.

Without this a co-signer's 「什么时候修？」 would open a new case (their own case is merged, so
it is no longer open). It joins their merged case's log and is passed to whoever holds the main
case; once the main case is finished, a new message opens a new case as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, queries, texts
from handlers.caselog import Actor, note
from handlers.context import HandlerContext
from handlers.lifecycle import OPEN, Status
from handlers.notices import ToConstituent, queue_notice
from handlers.texts import cosign as ctexts
from storage.models import Case, CaseEvent, Constituent, Message


def merged_case_and_main(session: Session, person: Constituent) -> tuple[Case, Case] | None:
    """(their merged case, its open main case) when the person's latest case is a co-signer."""
    stmt = select(Case).where(Case.constituent_id == person.id).order_by(Case.id.desc()).limit(1)
    own = session.scalars(stmt).first()
    if own is None or own.status != Status.MERGED or own.merged_into_id is None:
        return None
    main = session.get(Case, own.merged_into_id)
    if main is None or Status(main.status) not in OPEN:
        return None
    return own, main


def follow_up(
    session: Session,
    own: Case,
    main: Case,
    person: Constituent,
    msg: Message,
    kind: str,
    text: str,
    ctx: HandlerContext,
) -> None:
    """Log the message on the co-signer's case, pass it to the main case's handler, ack once."""
    msg.case_id = own.id
    previous = _last_contact(session, own)
    actor = Actor("constituent", str(person.id), "wecom")
    note(session, own, "follow_up", actor, ctx.now, message_id=msg.id, message_kind=kind,
         main=main.id)  # fmt: skip
    handler = queries.assignee_of(session, main)
    if handler is not None:
        body = (
            ctexts.cosigner_supplement(own.id, main.id, text)
            if kind == "text"
            else texts.supplement_media_arrived(own.id, kind)
        )
        cards.tell(session, [handler], body, case_id=main.id)
    if previous is None or ctx.now - previous > timedelta(minutes=ctx.burst_minutes):
        notice = ToConstituent(person.id, ctexts.cosigner_follow_up_joined(own.id, main.id))
        queue_notice(session, notice, case_id=own.id)


def _last_contact(session: Session, case: Case) -> datetime | None:
    stmt = (
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(("opened", "follow_up")))
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()
