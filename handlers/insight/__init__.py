"""民情大脑: the place, category and similar earlier cases of every new case.

`annotate_case` is the one call intake makes after a case is opened. The batch command
(`lianxin insight cluster`) runs the same `analyse` and `decide` over an in-memory index.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers.caselog import Actor, note
from handlers.context import HandlerContext
from handlers.insight.analysis import Analysis, analyse, decide
from handlers.insight.gazetteer import load_gazetteer
from handlers.insight.similar import Match, Settings
from handlers.insight.sql_index import SqlIndex, features_to_json, place_rows
from storage.models import Case, Station

__all__ = ["annotate_case", "Analysis", "Match", "Settings"]


def annotate_case(
    session: Session, case: Case, ctx: HandlerContext, cfg: Settings | None = None
) -> Match | None:
    """Store category, place and the similar/recurrence link on a new case; log them."""
    if not case.text.strip():
        return None  # a photo or location alone: nothing to read yet
    cfg = cfg or Settings()
    gazetteer = load_gazetteer(session)
    station = session.get(Station, case.station_id) if case.station_id else None
    station_text = " ".join(filter(None, (station.name, station.address))) if station else None
    analysis = analyse(
        gazetteer, case.text, case.created_at, case.lat, case.lng, case.plate, station_text
    )
    match = decide(SqlIndex(session, case.id, case.region_id), analysis, cfg)
    _store(session, case, analysis, match)
    place = analysis.resolution.place_id
    note(
        session,
        case,
        "insight",
        Actor.system(),
        ctx.now,
        category=case.category,
        category_confidence=case.category_confidence,
        category_source=case.category_source,
        place=gazetteer.places[place].name if place is not None else None,
        place_how=case.place_how,
        similar_to=case.similar_to_id,
        recurrence_of=case.recurrence_of_id,
        reasons=case.similar_reason,
    )
    return match


def _store(session: Session, case: Case, analysis: Analysis, match: Match | None) -> None:
    case.category = analysis.category.category
    case.category_confidence = analysis.category.confidence
    case.category_source = analysis.category.source
    case.place_id = analysis.resolution.place_id
    case.place_how = analysis.resolution.how
    case.insight = features_to_json(analysis.features)
    session.add_all(place_rows(case.id, analysis.features))
    if match is None:
        return
    reason = {
        **match.reasons,
        "kind": match.kind,
        "days": match.days,
        "reporters": match.reporters,
        "score": match.score,
    }
    case.similar_reason = reason
    if match.kind == "same":
        case.similar_to_id = match.case_id
    else:
        case.recurrence_of_id = match.case_id
