"""Category corrections by deputies and staff (`#12 分类 停车`), and their export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.caselog import Actor, note
from handlers.insight.category import categories
from storage.models import Case, CaseEvent

EVENT = "category_corrected"


def match_category(given: str) -> str | None:
    """The category `given` names: exact, or the one it starts (市政 → 市政设施(路灯/井盖))."""
    known = categories()
    text = given.strip()
    if text in known:
        return text
    hits = [c for c in known if c.startswith(text) or (len(text) >= 2 and text in c)]
    return hits[0] if len(hits) == 1 else None


def correct_category(
    session: Session, case: Case, category: str, actor: Actor, now: datetime
) -> str | None:
    """Set the category as corrected and log it; returns the previous category."""
    before = case.category
    case.category = category
    case.category_source = "corrected"
    case.category_confidence = 1.0
    note(session, case, EVENT, actor, now, before=before, after=category)
    return before


def corrections(session: Session) -> list[dict[str, Any]]:
    """Every correction as a training example: masked text, corrected category, the one before.

    The text is masked (脱敏) like every export: training data is shared beyond the case's handlers.
    """
    from handlers.privacy import mask_text

    stmt = (
        select(CaseEvent, Case.text)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(CaseEvent.kind == EVENT)
        .order_by(CaseEvent.id)
    )
    return [
        {
            "text": mask_text(text),
            "category": event.payload.get("after"),
            "was": event.payload.get("before"),
            "case": event.case_id,
            "at": event.at.isoformat(),
        }
        for event, text in session.execute(stmt)
        if text
    ]
