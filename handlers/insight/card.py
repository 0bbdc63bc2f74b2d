"""The 民情大脑 lines of a case card: place, category, and the similar or recurring case."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from handlers.insight import texts
from handlers.insight.category_set import active
from storage.models import Case, Place


def insight_fields(session: Session, case: Case) -> Iterator[tuple[str, str]]:
    """(label, value) lines for the card; nothing for a case insight has not seen."""
    if case.place_id is not None:
        place = session.get(Place, case.place_id)
        if place is not None:
            yield texts.PLACE_LABEL, texts.place_line(place.name, case.place_how or "text")
    if case.category:
        yield (
            texts.CATEGORY_LABEL,
            texts.category_line(
                active().label(case.category), case.category_confidence, case.category_source
            ),
        )
    reason = case.similar_reason or {}
    if case.similar_to_id is not None:
        line = texts.similar_line(
            case.similar_to_id,
            str(reason.get("place", "place")),
            float(reason.get("days", 0)),
            int(reason.get("reporters", 2)),
        )
        yield texts.SIMILAR_LABEL, line
    elif case.recurrence_of_id is not None:
        line = texts.recurrence_line(case.recurrence_of_id, float(reason.get("days", 0)))
        yield texts.SIMILAR_LABEL, line


def insight_buttons(case: Case) -> list[tuple[str, str, str]]:
    """(action, label, text command): 「更正分类」 on every categorised case but a merged one
    (a co-signer's report counts under its main case's category)."""
    if not case.category or case.status == "merged":
        return []
    return [("categorise", texts.CATEGORY_BUTTON, f"#{case.id} {texts.CATEGORY_VERB}")]
