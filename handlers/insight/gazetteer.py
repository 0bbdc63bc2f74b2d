"""The deployment's gazetteer from the database, cached per process."""

from __future__ import annotations

import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.insight.places import Gazetteer, PlaceInfo
from storage.models import Place, Region

_TTL_S = 60.0  # a re-import that only edits aliases is seen within a minute
_Stamp = tuple[float | None, ...]
_cache: dict[str, tuple[_Stamp, float, Gazetteer, dict[int, str]]] = {}


def load_gazetteer(session: Session) -> Gazetteer:
    """Every place with its region names (for prefix variants), rebuilt when places change."""
    return _load(session)[0]


def region_codes(session: Session) -> dict[int, str]:
    """Region id → code, as cached with the gazetteer."""
    return _load(session)[1]


def _load(session: Session) -> tuple[Gazetteer, dict[int, str]]:
    bind = session.get_bind()
    key = str(bind.engine.url)
    # a cheap fingerprint of the table; an edit of aliases alone is seen after the TTL
    row = session.execute(
        select(
            func.count(Place.id),
            func.max(Place.id),
            func.sum(func.length(Place.name)),
            func.sum(func.coalesce(Place.lat, 0.0) + func.coalesce(Place.lng, 0.0)),
            func.sum(Place.region_id),
        )
    ).one()
    stamp = tuple(round(float(v), 6) if v is not None else None for v in row)
    cached = _cache.get(key)
    if cached is not None and cached[0] == stamp and time.monotonic() - cached[1] < _TTL_S:
        return cached[2], cached[3]
    regions = list(session.execute(select(Region.id, Region.code, Region.name, Region.parent_id)))
    code = {r.id: r.code for r in regions}
    names = {r.code: r.name for r in regions}
    parents = {r.code: code.get(r.parent_id) if r.parent_id else None for r in regions}
    places = [
        PlaceInfo(p.id, p.name, p.kind, code.get(p.region_id), p.lat, p.lng, tuple(p.aliases or ()))
        for p in session.scalars(select(Place).order_by(Place.id))
    ]
    gazetteer = Gazetteer(places, names, parents)
    _cache[key] = (stamp, time.monotonic(), gazetteer, code)
    return gazetteer, code
