"""The directory as the admin pages show it: the region tree, stations, deputies, staff.

Read-only queries; changes go through `storage.directory.import_directory` (the CLI's path).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from handlers import queries
from handlers.queries import OPEN_VALUES
from storage.models import Case, Deputy, DeputyStation, Leave, Region, RosterSlot, Staff, Station


@dataclass(frozen=True)
class DirectoryFilter:
    """What the 名册 page was asked for; empty fields mean no filter."""

    q: str = ""
    region_code: str = ""
    station_id: int | None = None


@dataclass(frozen=True)
class TreeNode:
    """A region at its depth in the tree, with how many stations it has itself."""

    region: Region
    depth: int
    stations: int


@dataclass(frozen=True)
class LeaveRow:
    """A leave and the deputy standing in (if any)."""

    leave: Leave
    substitute: Deputy | None

    def current(self, today: date) -> bool:
        """True when `today` is inside the leave."""
        return self.leave.start_date <= today <= self.leave.end_date


@dataclass(frozen=True)
class DeputyRow:
    """A deputy with their stations, their current or next leave and their open cases."""

    deputy: Deputy
    stations: list[Station]
    leave: LeaveRow | None
    open_cases: int


@dataclass(frozen=True)
class StationRow:
    """A station with its region and how many deputies and staff belong to it."""

    station: Station
    region: Region
    deputies: int
    staff: int


@dataclass
class Directory:
    """Everything the 名册 page lists (after the filter)."""

    tree: list[TreeNode]
    stations: list[StationRow]
    deputies: list[DeputyRow]
    staff: list[tuple[Staff, Region, Station | None]]
    all_stations: list[Station] = field(default_factory=list)


@dataclass
class DeputyDetail:
    """One deputy's page: stations, duty days, leaves, and their load."""

    deputy: Deputy
    stations: list[Station]
    duty: dict[int, list[int]]  # station id -> weekdays (0 = Monday)
    leaves: list[LeaveRow]
    open_cases: int
    open_by_status: dict[str, int]
    recent: list[Case]
    others: list[Deputy]  # who may be named as substitute


def region_tree(session: Session) -> list[TreeNode]:
    """Every region, depth first from the roots, children by code."""
    regions = list(session.scalars(select(Region).order_by(Region.code)))
    counts = dict(
        session.execute(select(Station.region_id, func.count()).group_by(Station.region_id)).all()
    )
    children: dict[int | None, list[Region]] = defaultdict(list)
    ids = {r.id for r in regions}
    for r in regions:
        children[r.parent_id if r.parent_id in ids else None].append(r)
    out: list[TreeNode] = []
    stack = [(r, 0) for r in reversed(children[None])]
    seen: set[int] = set()
    while stack:
        region, depth = stack.pop()
        if region.id in seen:  # a cycle in stored data must not hang the page
            continue
        seen.add(region.id)
        out.append(TreeNode(region, depth, int(counts.get(region.id, 0))))
        stack.extend((c, depth + 1) for c in reversed(children[region.id]))
    return out


def _leave_rows(session: Session, leaves: list[Leave]) -> list[LeaveRow]:
    subs = {lv.substitute_id for lv in leaves if lv.substitute_id}
    found = {d.id: d for d in session.scalars(select(Deputy).where(Deputy.id.in_(subs)))}
    return [LeaveRow(lv, found.get(lv.substitute_id or -1)) for lv in leaves]


def _memberships(session: Session, deputy_ids: list[int]) -> dict[int, list[Station]]:
    rows = session.execute(
        select(DeputyStation.deputy_id, Station)
        .join(Station, Station.id == DeputyStation.station_id)
        .where(DeputyStation.deputy_id.in_(deputy_ids))
        .order_by(Station.code)
    )
    out: dict[int, list[Station]] = defaultdict(list)
    for deputy_id, station in rows:
        out[deputy_id].append(station)
    return out


def _loads(session: Session, deputy_ids: list[int]) -> dict[int, int]:
    stmt = (
        select(Case.assignee_deputy_id, func.count(Case.id))
        .where(Case.status.in_(OPEN_VALUES), Case.assignee_deputy_id.in_(deputy_ids))
        .group_by(Case.assignee_deputy_id)
    )
    return {int(k): int(v) for k, v in session.execute(stmt) if k is not None}


def _station_ids(session: Session, f: DirectoryFilter) -> set[int] | None:
    """Stations inside the filter (None: every station)."""
    if f.station_id is not None:
        return {f.station_id}
    if not f.region_code:
        return None
    region = session.scalars(select(Region).where(Region.code == f.region_code)).first()
    if region is None:
        return set()
    subtree = queries.region_subtree_ids(session, region.id)
    return set(session.scalars(select(Station.id).where(Station.region_id.in_(subtree))))


def directory(session: Session, f: DirectoryFilter, today: date) -> Directory:
    """The filtered directory (deputies' leave is the current one, else the next one)."""
    station_ids = _station_ids(session, f)
    like = f"%{f.q.strip()}%" if f.q.strip() else None
    stations_q = select(Station, Region).join(Region, Region.id == Station.region_id)
    deputies_q = select(Deputy).order_by(Deputy.code)
    staff_q = (
        select(Staff, Region, Station)
        .join(Region, Region.id == Staff.region_id)
        .outerjoin(Station, Station.id == Staff.station_id)
        .order_by(Staff.code)
    )
    if station_ids is not None:
        stations_q = stations_q.where(Station.id.in_(station_ids))
        member = select(DeputyStation.deputy_id).where(DeputyStation.station_id.in_(station_ids))
        deputies_q = deputies_q.where(Deputy.id.in_(member))
        staff_q = staff_q.where(Staff.station_id.in_(station_ids))
    if like:
        stations_q = stations_q.where(or_(Station.name.like(like), Station.code.like(like)))
        deputies_q = deputies_q.where(
            or_(Deputy.name.like(like), Deputy.code.like(like), Deputy.dingtalk_user_id.like(like))
        )
        staff_q = staff_q.where(or_(Staff.name.like(like), Staff.code.like(like)))
    deputies = list(session.scalars(deputies_q))
    ids = [d.id for d in deputies]
    members = _memberships(session, ids)
    loads = _loads(session, ids)
    leaves = session.scalars(
        select(Leave)
        .where(Leave.deputy_id.in_(ids), Leave.end_date >= today)
        .order_by(Leave.start_date)
    )
    next_leave: dict[int, LeaveRow] = {}
    for row in _leave_rows(session, list(leaves)):
        next_leave.setdefault(row.leave.deputy_id, row)
    station_rows = _station_rows(session, list(session.execute(stations_q.order_by(Station.code))))
    return Directory(
        tree=region_tree(session),
        stations=station_rows,
        deputies=[
            DeputyRow(d, members.get(d.id, []), next_leave.get(d.id), loads.get(d.id, 0))
            for d in deputies
        ],
        staff=[(s, r, st) for s, r, st in session.execute(staff_q)],
        all_stations=list(session.scalars(select(Station).order_by(Station.code))),
    )


def _station_rows(session: Session, rows: list[tuple[Station, Region]]) -> list[StationRow]:
    deputies = dict(
        session.execute(
            select(DeputyStation.station_id, func.count()).group_by(DeputyStation.station_id)
        ).all()
    )
    staff = dict(
        session.execute(
            select(Staff.station_id, func.count())
            .where(Staff.station_id.is_not(None))
            .group_by(Staff.station_id)
        ).all()
    )
    return [StationRow(s, r, int(deputies.get(s.id, 0)), int(staff.get(s.id, 0))) for s, r in rows]


def deputy_detail(session: Session, deputy_id: int) -> DeputyDetail | None:
    """One deputy's stations, duty days, leaves and open cases; None when unknown."""
    deputy = session.get(Deputy, deputy_id)
    if deputy is None:
        return None
    duty: dict[int, list[int]] = defaultdict(list)
    slots = select(RosterSlot).where(RosterSlot.deputy_id == deputy.id)
    for slot in session.scalars(slots.order_by(RosterSlot.weekday)):
        duty[slot.station_id].append(slot.weekday)
    leaves = session.scalars(
        select(Leave).where(Leave.deputy_id == deputy.id).order_by(Leave.start_date.desc())
    )
    by_status = dict(
        session.execute(
            select(Case.status, func.count(Case.id))
            .where(Case.assignee_deputy_id == deputy.id, Case.status.in_(OPEN_VALUES))
            .group_by(Case.status)
        ).all()
    )
    recent = session.scalars(
        select(Case)
        .where(Case.assignee_deputy_id == deputy.id, Case.status.in_(OPEN_VALUES))
        .order_by(Case.id.desc())
        .limit(20)
    )
    others = session.scalars(
        select(Deputy).where(Deputy.id != deputy.id, Deputy.active.is_(True)).order_by(Deputy.code)
    )
    return DeputyDetail(
        deputy=deputy,
        stations=_memberships(session, [deputy.id]).get(deputy.id, []),
        duty=dict(duty),
        leaves=_leave_rows(session, list(leaves)),
        open_cases=queries.open_case_count(session, deputy_id=deputy.id),
        open_by_status={str(k): int(v) for k, v in by_status.items()},
        recent=list(recent),
        others=list(others),
    )


def masked_phone(phone: str | None) -> str:
    """A directory phone as the pages show it: 138****5678 / 0518-****6617."""
    from handlers.privacy.style import mask_landline, mask_mobile

    if not phone:
        return "—"
    digits = "".join(c for c in phone if c.isdigit())
    return mask_mobile(phone) if len(digits) >= 11 and digits[-11] == "1" else mask_landline(phone)
