"""A CaseIndex over the cases table: candidates by place, nearby location or recent window.

Each leg is one indexed query bounded by time (case_places by place, cases by created_at and
a lat/lng box), so the cost does not grow with the number of open cases elsewhere.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from handlers.insight.similar import Candidate, Features, Settings
from storage.models import Case, CasePlace

_MAX_CANDIDATES = 400  # a hot spot (one estate) never makes one intake scan thousands
_EXCLUDED = ("rejected",)


def features_to_json(feats: Features) -> dict[str, Any]:
    """What is stored in cases.insight so the case can be compared later without re-reading."""
    return {
        "places": sorted(feats.places),
        "objects": sorted(feats.objects),
        "faults": sorted(feats.faults),
        "grams": sorted(feats.grams),
        "category": feats.category,
    }


def features_from_case(case: Case) -> Features | None:
    """The stored features of a case (None for cases from before insight)."""
    data = case.insight
    if not data:
        return None
    return Features(
        at=case.created_at,
        places=frozenset(data.get("places", ())),
        lat=case.lat,
        lng=case.lng,
        objects=frozenset(data.get("objects", ())),
        faults=frozenset(data.get("faults", ())),
        grams=frozenset(data.get("grams", ())),
        category=case.category or data.get("category"),
    )


class SqlIndex:
    """Earlier cases of the database, seen from a new case."""

    def __init__(self, session: Session, case_id: int | None, region_id: int | None) -> None:
        self.session = session
        self.case_id = case_id
        self.region_id = region_id

    def _base(self, since: datetime) -> Any:
        stmt = select(Case).where(
            Case.created_at >= since,
            Case.insight.is_not(None),
            Case.status.not_in(_EXCLUDED),
        )
        if self.case_id is not None:
            stmt = stmt.where(Case.id != self.case_id)
        return stmt

    def candidates(self, new: Features, cfg: Settings) -> list[Candidate]:
        """Same place or within near_m (recurrence window); same region, no place (episode)."""
        since = new.at - timedelta(days=cfg.recurrence_days)
        recent = new.at - timedelta(days=cfg.episode_days)
        legs: list[ColumnElement[bool]] = []
        if new.places:
            by_place = select(CasePlace.case_id).where(CasePlace.place_id.in_(sorted(new.places)))
            legs.append(Case.id.in_(by_place))
        if new.lat is not None and new.lng is not None:
            dlat = cfg.near_m / 111_320
            dlng = dlat / max(math.cos(math.radians(new.lat)), 0.01)
            legs.append(
                Case.lat.between(new.lat - dlat, new.lat + dlat)
                & Case.lng.between(new.lng - dlng, new.lng + dlng)
            )
        # cases that name no place and carry no location can match anything recent nearby
        unplaced: ColumnElement[bool] = (
            Case.place_id.is_(None) & Case.lat.is_(None) & (Case.created_at >= recent)
        )
        if not new.places and new.lat is None:
            unplaced = Case.created_at >= recent
        if self.region_id is not None:
            unplaced = unplaced & (Case.region_id == self.region_id)
        legs.append(unplaced)
        stmt = self._base(since).where(or_(*legs)).order_by(Case.id.desc()).limit(_MAX_CANDIDATES)
        cases = list(self.session.scalars(stmt))
        return self._as_candidates(cases)

    def _as_candidates(self, cases: list[Case]) -> list[Candidate]:
        roots = {c.similar_to_id or c.id for c in cases}
        root_at = dict(
            self.session.execute(select(Case.id, Case.created_at).where(Case.id.in_(roots))).all()
        )
        counts = dict(
            self.session.execute(
                select(Case.similar_to_id, func.count(Case.id))
                .where(Case.similar_to_id.in_(roots))
                .group_by(Case.similar_to_id)
            ).all()
        )
        found = []
        for case in cases:
            feats = features_from_case(case)
            if feats is None:
                continue
            root = case.similar_to_id or case.id
            found.append(
                Candidate(
                    case_id=case.id,
                    root_id=root,
                    root_at=root_at.get(root, case.created_at),
                    features=feats,
                    reporters=1 + counts.get(root, 0),
                )
            )
        return found
