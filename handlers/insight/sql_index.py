"""A CaseIndex over the cases table: candidates by place and object, nearby point, or window.

Each leg is one indexed query (case_places by place and object, cases by a lat/lng box, cases
by created_at), and only the columns matching needs are read, so the cost follows the cases
at that place, not the number of open cases elsewhere.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from handlers.insight.similar import Candidate, Features, Settings
from storage.models import Case, CasePlace

_MAX_CANDIDATES = 400  # a hot spot (one estate) never makes one intake compare thousands
_EXCLUDED = ("rejected",)


def features_to_json(feats: Features) -> dict[str, Any]:
    """What is stored in cases.insight so the case can be compared later without re-reading."""
    return {
        "places": sorted(feats.places),
        "objects": sorted(feats.objects),
        "faults": sorted(feats.faults),
        "grams": sorted(feats.grams),
        "category": feats.category,
        "words": sorted(feats.words),
        "confidence": feats.confidence,
        "category_scores": [list(pair) for pair in feats.category_scores],
    } | ({"hints": sorted(feats.hints)} if feats.hints else {})


def place_rows(case_id: int, feats: Features) -> list[CasePlace]:
    """The case_places rows of a case: each place × each object ('' when it names none)."""
    objects = sorted(feats.objects) or [""]
    return [CasePlace(case_id=case_id, place_id=p, object=o) for p in feats.places for o in objects]


def _features(row: Any) -> Features:
    data = row.insight or {}
    return Features(
        at=row.created_at,
        places=frozenset(data.get("places", ())),
        lat=row.lat,
        lng=row.lng,
        objects=frozenset(data.get("objects", ())),
        faults=frozenset(data.get("faults", ())),
        grams=frozenset(data.get("grams", ())),
        category=row.category or data.get("category"),
        words=frozenset(data.get("words", ())),
        # a corrected category is certain (1.0); the column follows corrections
        confidence=row.category_confidence,
        hints=frozenset(data.get("hints", ())),
        category_scores=tuple((str(c), float(p)) for c, p in data.get("category_scores", ())),
    )


class SqlIndex:
    """Earlier cases of the database, seen from a new case."""

    def __init__(self, session: Session, case_id: int | None, region_id: int | None) -> None:
        self.session = session
        self.case_id = case_id
        self.region_id = region_id

    def candidates(self, new: Features, cfg: Settings) -> list[Candidate]:
        """Same place (sharing an object, or naming none), within near_m, or recent unplaced."""
        since = new.at - timedelta(days=cfg.recurrence_days)
        recent = new.at - timedelta(days=cfg.episode_days)
        ids: set[int] = set()
        if new.nearby and new.objects:
            # beside a named place only the same object can match (best_match)
            stmt = select(CasePlace.case_id).where(
                CasePlace.place_id.in_(sorted(new.nearby)),
                CasePlace.object.in_(sorted(new.objects)),
            )
            ids.update(self.session.scalars(stmt))
        if new.places:
            stmt = select(CasePlace.case_id).where(CasePlace.place_id.in_(sorted(new.places)))
            if new.objects:
                # a case naming other objects only cannot be the same problem (problem_score)
                stmt = stmt.where(CasePlace.object.in_([*sorted(new.objects), ""]))
            ids.update(self.session.scalars(stmt))
        if new.lat is not None and new.lng is not None:
            dlat = cfg.near_m / 111_320
            dlng = dlat / max(math.cos(math.radians(new.lat)), 0.01)
            box = select(Case.id).where(
                Case.lat.between(new.lat - dlat, new.lat + dlat),
                Case.lng.between(new.lng - dlng, new.lng + dlng),
                Case.created_at >= since,
            )
            ids.update(self.session.scalars(box))
        # cases that name no place and carry no location may match anything recent
        unplaced: ColumnElement[bool] = Case.place_id.is_(None) & Case.lat.is_(None)
        if not new.places and new.lat is None:
            unplaced = Case.insight.is_not(None)
        window = select(Case.id).where(Case.created_at >= recent, unplaced)
        if self.region_id is not None:
            window = window.where(Case.region_id == self.region_id)
        ids.update(self.session.scalars(window))
        ids.discard(self.case_id or 0)
        if not ids:
            return []
        rows = list(
            self.session.execute(
                select(
                    Case.id,
                    Case.similar_to_id,
                    Case.created_at,
                    Case.lat,
                    Case.lng,
                    Case.category,
                    Case.category_confidence,
                    Case.insight,
                )
                .where(
                    Case.id.in_(sorted(ids)),
                    Case.created_at >= since,
                    Case.insight.is_not(None),
                    Case.status.not_in(_EXCLUDED),
                )
                .order_by(Case.id.desc())
                .limit(_MAX_CANDIDATES)
            )
        )
        return self._as_candidates(new, rows)

    def _group_objects(self, new: Features, rows: list[Any]) -> dict[int, set[str]]:
        """The objects each group names between them (its main case and the cases matched to
        it), for the groups where they can matter: the new case names objects and a candidate
        of the group names none (a candidate naming objects either shares one, and so does its
        group, or cannot match anyway)."""
        if not new.objects:
            return {}
        roots = sorted(
            {r.similar_to_id or r.id for r in rows if not (r.insight or {}).get("objects")}
        )
        if not roots:
            return {}
        objects: dict[int, set[str]] = {}
        named = CasePlace.object != ""
        live = Case.status.not_in(_EXCLUDED)
        # two indexed legs (the main cases by id, the matched ones by similar_to_id)
        legs = (
            select(Case.id, CasePlace.object)
            .join(CasePlace, CasePlace.case_id == Case.id)
            .where(Case.id.in_(roots), named, live),
            select(Case.similar_to_id, CasePlace.object)
            .join(CasePlace, CasePlace.case_id == Case.id)
            .where(Case.similar_to_id.in_(roots), named, live),
        )
        for stmt in legs:
            for root, obj in self.session.execute(stmt.distinct()).all():
                if root is not None:
                    objects.setdefault(root, set()).add(obj)
        return objects

    def _as_candidates(self, new: Features, rows: list[Any]) -> list[Candidate]:
        roots = {r.similar_to_id or r.id for r in rows}
        root_at = {r.id: r.created_at for r in rows if r.id in roots}
        missing = roots - set(root_at)
        if missing:
            stmt = select(Case.id, Case.created_at).where(Case.id.in_(sorted(missing)))
            root_at.update((i, at) for i, at in self.session.execute(stmt).all())
        counts = dict(
            self.session.execute(
                select(Case.similar_to_id, func.count(Case.id))
                .where(Case.similar_to_id.in_(roots))
                .group_by(Case.similar_to_id)
            ).all()
        )
        objects = self._group_objects(new, rows)
        return [
            Candidate(
                case_id=r.id,
                root_id=r.similar_to_id or r.id,
                root_at=root_at.get(r.similar_to_id or r.id, r.created_at),
                features=_features(r),
                reporters=1 + counts.get(r.similar_to_id or r.id, 0),
                group_objects=frozenset(objects.get(r.similar_to_id or r.id, ())),
            )
            for r in rows
        ]
