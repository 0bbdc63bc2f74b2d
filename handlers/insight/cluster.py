"""Batch mode: group a history of messages as intake would, writing nothing.

Messages are taken in `created_at` order; each goes through `analyse` and `decide` (the
intake steps) against the messages before it. A match joins its group (a suggested merge
counts as accepted); a recurrence or no match starts a new group.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.insight.analysis import analyse, decide
from handlers.insight.memory_index import MemoryIndex
from handlers.insight.places import Gazetteer
from handlers.insight.similar import Settings


@dataclass(frozen=True)
class InputMessage:
    """One line of the batch input."""

    id: str
    text: str
    created_at: datetime
    lat: float | None = None
    lng: float | None = None


@dataclass(frozen=True)
class Outcome:
    """One line of the batch output, plus what the card would say."""

    id: str
    group: str
    category: str
    place: str | None
    place_how: str
    kind: str | None  # same | recurrence | None
    recurrence_of: str | None = None


def cluster(
    messages: list[InputMessage], gazetteer: Gazetteer, cfg: Settings | None = None
) -> list[Outcome]:
    """Outcomes in input order; processing is in created_at order (ties: input order)."""
    cfg = cfg or Settings()
    index = MemoryIndex()
    order = sorted(range(len(messages)), key=lambda i: (messages[i].created_at, i))
    results: dict[int, Outcome] = {}
    for number, i in enumerate(order, start=1):
        msg = messages[i]
        analysis = analyse(gazetteer, msg.text, msg.created_at, msg.lat, msg.lng)
        match = decide(index, analysis, cfg)
        root = match.case_id if match is not None and match.kind == "same" else number
        index.add(number, root, analysis.features)
        place = analysis.resolution.place_id
        results[i] = Outcome(
            id=msg.id,
            group=messages[order[root - 1]].id,
            category=analysis.category.category,
            place=gazetteer.places[place].name if place is not None else None,
            place_how=analysis.resolution.how,
            kind=match.kind if match is not None else None,
            recurrence_of=(
                messages[order[match.case_id - 1]].id
                if match is not None and match.kind == "recurrence"
                else None
            ),
        )
    return [results[i] for i in range(len(messages))]
