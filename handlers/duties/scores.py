"""履职积分 by station and region: the sum and average of their deputies' points in a year.

A deputy of two stations counts in both; a region counts each of its deputies once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import queries
from handlers.duties.record import archives
from storage.models import DeputyStation, Region, Station


@dataclass(frozen=True)
class ScoreRow:
    """One station or region: how many deputies, their total and average 积分."""

    level: str  # region | station
    code: str
    name: str
    deputies: int
    total: float

    @property
    def average(self) -> float:
        """total / deputies (0 for none)."""
        return self.total / self.deputies if self.deputies else 0.0


def score_table(
    session: Session, year: int, points: Mapping[str, float], region_code: str | None = None
) -> list[ScoreRow]:
    """Regions (with everything below them) then stations; LookupError for an unknown region."""
    regions = list(session.scalars(select(Region).order_by(Region.code)))
    if region_code is not None:
        top = queries.find_region(session, region_code)
        if top is None:
            raise LookupError(f"no region {region_code!r}")
        keep = set(queries.region_subtree_ids(session, top.id))
        regions = [r for r in regions if r.id in keep]
    region_ids = {r.id for r in regions}
    stations = [
        s
        for s in session.scalars(select(Station).order_by(Station.code))
        if s.region_id in region_ids
    ]
    members: dict[int, set[int]] = {s.id: set() for s in stations}
    for deputy_id, station_id in session.execute(
        select(DeputyStation.deputy_id, DeputyStation.station_id)
    ).all():
        if station_id in members:
            members[station_id].add(deputy_id)
    everyone = set().union(*members.values()) if members else set()
    totals = {d: a.total for d, a in archives(session, year, points, everyone).items()}
    rows = []
    for region in regions:
        inside = set(queries.region_subtree_ids(session, region.id))
        deputies = set().union(*(members[s.id] for s in stations if s.region_id in inside), set())
        rows.append(
            ScoreRow("region", region.code, region.name, len(deputies), _sum(totals, deputies))
        )
    for s in stations:
        rows.append(
            ScoreRow("station", s.code, s.name, len(members[s.id]), _sum(totals, members[s.id]))
        )
    return rows


def _sum(totals: Mapping[int, float], deputies: set[int]) -> float:
    return sum(totals.get(d, 0.0) for d in deputies)
