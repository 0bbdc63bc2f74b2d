"""The workbench's 履职 pages: whose 履职档案 a viewer may read, and which 积分 table rows.

Scoped like every workbench page (scope.py): a deputy reads their own archive; station staff
the deputies of their stations and those stations' rows; office staff every deputy and row of
their region and the regions below it; an admin everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import queries
from handlers.duties.record import Archive, archives
from handlers.duties.scores import ScoreRow, score_table
from handlers.workbench.scope import Viewer, visible_stations
from storage.models import Deputy, DeputyStation, Region, Station


@dataclass(frozen=True)
class DeputyLine:
    """One row of the 履职 list: a deputy, their stations and their year's archive."""

    deputy: Deputy
    stations: str
    archive: Archive


def visible_deputy_ids(session: Session, viewer: Viewer) -> set[int]:
    """The deputies whose 履职档案 `viewer` may read."""
    p = viewer.person
    if viewer.is_admin:
        return set(session.scalars(select(Deputy.id)))
    if p.kind == "deputy":
        return {p.id}
    station_ids = [s.id for s in visible_stations(session, viewer)]
    if not station_ids:
        return set()
    stmt = select(DeputyStation.deputy_id).where(DeputyStation.station_id.in_(station_ids))
    return set(session.scalars(stmt))


def may_read_archive(session: Session, viewer: Viewer, deputy_id: int) -> bool:
    """True when `viewer` may read this deputy's 履职档案."""
    return deputy_id in visible_deputy_ids(session, viewer)


def deputy_lines(
    session: Session, viewer: Viewer, year: int, points: Mapping[str, float]
) -> list[DeputyLine]:
    """Every visible deputy with their archive of `year`, highest 积分 first."""
    ids = visible_deputy_ids(session, viewer)
    if not ids:
        return []
    names: dict[int, list[str]] = {}
    for deputy_id, name in session.execute(
        select(DeputyStation.deputy_id, Station.name)
        .join(Station, Station.id == DeputyStation.station_id)
        .where(DeputyStation.deputy_id.in_(ids))
        .order_by(Station.code)
    ).all():
        names.setdefault(deputy_id, []).append(name)
    found = archives(session, year, points, ids)
    lines = [DeputyLine(a.deputy, "、".join(names.get(d, [])), a) for d, a in found.items()]
    return sorted(lines, key=lambda line: (-line.archive.total, line.deputy.code))


def score_rows(
    session: Session, viewer: Viewer, year: int, points: Mapping[str, float]
) -> list[ScoreRow]:
    """The 积分 table by region and station, cut to the viewer's scope (none for deputies)."""
    p = viewer.person
    if viewer.is_admin:
        return score_table(session, year, points)
    if p.kind == "deputy":
        return []
    if p.station_ids:
        codes = {s.code for s in visible_stations(session, viewer)}
        rows: list[ScoreRow] = []
        regions = set(session.scalars(select(Station.region_id).where(Station.code.in_(codes))))
        for region_id in sorted(r for r in regions if r is not None):
            region = session.get(Region, region_id)
            assert region is not None
            rows += [
                r
                for r in score_table(session, year, points, region.code)
                if r.level == "station" and r.code in codes
            ]
        return rows
    if p.region_id is None:
        return []
    region = session.get(Region, p.region_id)
    return score_table(session, year, points, region.code) if region is not None else []


def find_visible_deputy(session: Session, viewer: Viewer, code: str) -> Deputy | None:
    """The deputy by code if `viewer` may read their archive, else None."""
    deputy = queries.find_deputy(session, code)
    if deputy is None or not may_read_archive(session, viewer, deputy.id):
        return None
    return deputy
