"""阅文: documents attached to a meeting or sent alone, with per-deputy read receipts.

`#阅文5` (the card's 打开 link) records *opened* and answers with the document's link;
`#阅文5 已阅` records *confirmed read*. Deputies who have not confirmed are reminded once,
`remind_days` working days after the document was sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards
from handlers.cards import ReplyTarget
from handlers.context import HandlerContext
from handlers.duties import meeting_texts as mt
from handlers.duties.solicit import queue_batches, resolve_audience
from handlers.duties.spec import Audience, SpecError, parse_audience
from handlers.queries import Person
from storage.models import Deputy, Document, DocumentRead

HEADER = re.compile(r"^\s*#?\s*阅文\s*(\d{1,9})(?=\s|$|[:：])[\s:：]*(.*)$", re.S)
CONFIRM_WORDS = ("已阅", "已读", "阅毕", "确认")


@dataclass(frozen=True)
class DocumentSpec:
    """A document sent alone."""

    title: str
    url: str
    summary: str
    audience: Audience
    remind_days: int | None


def parse_document(raw: Any) -> DocumentSpec:
    """Check a document YAML mapping; SpecError lists every problem."""
    if not isinstance(raw, dict):
        raise SpecError("the file must be a mapping with title, url, audience")
    problems: list[str] = []
    title = str(raw.get("title") or "").strip()
    if not title:
        problems.append("title: missing")
    audience = parse_audience(raw.get("audience"), problems)
    remind = raw.get("remind_days")
    if remind is not None and (not isinstance(remind, int) or remind < 1):
        problems.append("remind_days: give a whole number of working days ≥ 1")
    if problems:
        raise SpecError("; ".join(problems))
    assert audience is not None
    return DocumentSpec(
        title, str(raw.get("url") or ""), str(raw.get("text") or "").strip(), audience, remind
    )


def add_document(
    session: Session,
    ctx: HandlerContext,
    title: str,
    url: str,
    summary: str,
    deputies: Sequence[Deputy],
    meeting_id: int | None = None,
    remind_days: int | None = None,
) -> Document:
    """Record a document and one receipt row per deputy (no message: the caller sends it)."""
    doc = Document(
        title=title, url=url, summary=summary, meeting_id=meeting_id,
        remind_days=remind_days, reminded=False, created_at=ctx.now,
    )  # fmt: skip
    session.add(doc)
    session.flush()
    session.add_all(
        DocumentRead(document_id=doc.id, deputy_id=d.id, sent_at=ctx.now) for d in deputies
    )
    return doc


def send_document(session: Session, ctx: HandlerContext, spec: DocumentSpec) -> Document:
    """A document sent alone: receipts and its card, in batches of 20."""
    people = [d for d, _ in resolve_audience(session, spec.audience)]
    if not people:
        raise LookupError("the audience has no active deputies")
    doc = add_document(
        session, ctx, spec.title, spec.url, spec.summary, people, None, spec.remind_days
    )
    title, text = mt.document_card(doc)
    queue_batches(session, [d.dingtalk_user_id for d in people], title, text, f"doc:{doc.id}")
    return doc


def on_text(
    session: Session, person: Person, text: str, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """`#阅文5` opens (and is recorded), `#阅文5 已阅` confirms."""
    m = HEADER.match(text)
    assert m is not None
    number, rest = int(m.group(1)), m.group(2).strip()
    doc = session.get(Document, number)
    receipt = (
        session.scalars(
            select(DocumentRead)
            .where(DocumentRead.document_id == number, DocumentRead.deputy_id == person.id)
            .with_for_update()
        ).first()
        if person.kind == "deputy" and doc is not None
        else None
    )
    if doc is None or receipt is None:
        cards.reply(session, target, mt.document_not_found(number))
        return
    receipt.opened_at = receipt.opened_at or ctx.now
    if rest.startswith(CONFIRM_WORDS):
        receipt.confirmed_at = receipt.confirmed_at or ctx.now
        cards.reply(session, target, mt.document_confirmed(doc))
    else:
        cards.reply(session, target, mt.document_opened(doc))


def remind_due(session: Session, ctx: HandlerContext) -> int:
    """Remind, once, deputies who have not confirmed `remind_days` working days after sending."""
    fired = 0
    stmt = select(Document).where(Document.reminded.is_(False), Document.remind_days.is_not(None))
    for doc in session.scalars(stmt.with_for_update()):
        due = ctx.calendar.add_working_days(doc.created_at, float(doc.remind_days or 0))
        if ctx.now < due:
            continue
        users = list(
            session.scalars(
                select(Deputy.dingtalk_user_id)
                .join(DocumentRead, DocumentRead.deputy_id == Deputy.id)
                .where(DocumentRead.document_id == doc.id, DocumentRead.confirmed_at.is_(None))
                .order_by(Deputy.id)
            )
        )
        title, card = mt.document_card(doc)
        queue_batches(
            session, users, title, f"{mt.document_reminder(doc)}\n\n{card}", f"doc:{doc.id}:remind"
        )
        doc.reminded = True
        fired += 1
    return fired


@dataclass(frozen=True)
class Receipt:
    """One deputy's receipt."""

    deputy_code: str
    deputy_name: str
    opened_at: datetime | None
    confirmed_at: datetime | None


def receipts(session: Session, document_id: int) -> tuple[Document, list[Receipt]]:
    """The document and every deputy's receipt; LookupError if there is none."""
    doc = session.get(Document, document_id)
    if doc is None:
        raise LookupError(f"no document {document_id}")
    rows = session.execute(
        select(DocumentRead, Deputy)
        .join(Deputy, Deputy.id == DocumentRead.deputy_id)
        .where(DocumentRead.document_id == doc.id)
        .order_by(Deputy.code)
    ).all()
    return doc, [Receipt(d.code, d.name, r.opened_at, r.confirmed_at) for r, d in rows]
