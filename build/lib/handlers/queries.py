"""Directory and case look-ups shared by the handlers (keyword-free, read-only helpers)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers import texts
from handlers.caselog import Actor
from handlers.lifecycle import OPEN
from storage.models import (
    Case,
    Constituent,
    Department,
    Deputy,
    DeputyStation,
    Region,
    Staff,
    Station,
)

OPEN_VALUES = tuple(s.value for s in OPEN)


@dataclass(frozen=True)
class Person:
    """A deputy or staff member acting through the bot."""

    kind: Literal["deputy", "staff"]
    id: int
    name: str
    dingtalk_user_id: str | None
    wecom_user_id: str | None = None
    station_ids: frozenset[int] = frozenset()  # deputy: member stations; staff: own station
    region_id: int | None = None  # staff only

    @property
    def is_staff(self) -> bool:
        """True for office and station staff."""
        return self.kind == "staff"

    @property
    def title(self) -> str:
        """How colleagues see this person: 张代表 / 工作人员李娜."""
        if self.kind == "deputy":
            return texts.deputy_title(self.name)
        return texts.staff_title(self.name)

    def actor(self, channel: str) -> Actor:
        """This person as the actor of a case event."""
        return Actor(self.kind, str(self.id), channel, self.title)


def deputy_person(session: Session, deputy: Deputy) -> Person:
    """A deputy with their stations."""
    stations = session.scalars(
        select(DeputyStation.station_id).where(DeputyStation.deputy_id == deputy.id)
    )
    return Person(
        "deputy", deputy.id, deputy.name, deputy.dingtalk_user_id, None, frozenset(stations)
    )


def staff_person(staff: Staff) -> Person:
    """A staff member with their station (if any) and region."""
    stations = frozenset({staff.station_id}) if staff.station_id is not None else frozenset()
    return Person(
        "staff",
        staff.id,
        staff.name,
        staff.dingtalk_user_id,
        staff.wecom_user_id,
        stations,
        staff.region_id,
    )


def person_by_platform(session: Session, platform: str, user_id: str) -> Person | None:
    """The staff member or active deputy behind a platform user id (staff first)."""
    if platform == "wecom_app":
        staff = session.scalars(select(Staff).where(Staff.wecom_user_id == user_id)).first()
        return staff_person(staff) if staff else None
    staff = session.scalars(select(Staff).where(Staff.dingtalk_user_id == user_id)).first()
    if staff is not None:
        return staff_person(staff)
    deputy = session.scalars(
        select(Deputy).where(Deputy.dingtalk_user_id == user_id, Deputy.active.is_(True))
    ).first()
    return deputy_person(session, deputy) if deputy else None


def assignee_of(session: Session, case: Case) -> Person | None:
    """The person the case is assigned to (deputy or staff), if any."""
    if case.assignee_deputy_id is not None:
        deputy = session.get(Deputy, case.assignee_deputy_id)
        return deputy_person(session, deputy) if deputy else None
    if case.assignee_staff_id is not None:
        staff = session.get(Staff, case.assignee_staff_id)
        return staff_person(staff) if staff else None
    return None


def handler_public_name(session: Session, case: Case) -> str | None:
    """How the constituent sees the handler: 张代表, or 联络站工作人员."""
    person = assignee_of(session, case)
    if person is None:
        return None
    return (
        texts.deputy_title(person.name) if person.kind == "deputy" else texts.staff_public_title()
    )


# ---------------------------------------------------------------- regions


def region_chain(session: Session, region_id: int | None) -> list[Region]:
    """The region and its ancestors, leaf first."""
    chain: list[Region] = []
    seen: set[int] = set()
    current = session.get(Region, region_id) if region_id is not None else None
    while current is not None and current.id not in seen:
        chain.append(current)
        seen.add(current.id)
        current = session.get(Region, current.parent_id) if current.parent_id else None
    return chain


def region_subtree_ids(session: Session, region_id: int) -> set[int]:
    """The region and all regions below it."""
    found = {region_id}
    frontier = [region_id]
    while frontier:
        children = list(session.scalars(select(Region.id).where(Region.parent_id.in_(frontier))))
        frontier = [c for c in children if c not in found]
        found.update(frontier)
    return found


def encloses(session: Session, outer_region_id: int, inner_region_id: int | None) -> bool:
    """True when `outer` is `inner` or one of its ancestors (a root encloses the unknown)."""
    if inner_region_id is None:
        outer = session.get(Region, outer_region_id)
        return outer is not None and outer.parent_id is None
    return any(r.id == outer_region_id for r in region_chain(session, inner_region_id))


# ---------------------------------------------------------------- permissions


def may_act(session: Session, person: Person, case: Case) -> bool:
    """Assignee, the station's deputies and staff, and staff of enclosing regions may act."""
    if person.kind == "deputy":
        return case.assignee_deputy_id == person.id or case.station_id in person.station_ids
    if case.assignee_staff_id == person.id:
        return True
    if person.station_ids:
        return case.station_id in person.station_ids
    return person.region_id is not None and encloses(session, person.region_id, case.region_id)


def holds(person: Person, case: Case) -> bool:
    """True when `person` is the case's assignee."""
    if person.kind == "deputy":
        return case.assignee_deputy_id == person.id
    return case.assignee_staff_id == person.id


# ---------------------------------------------------------------- stations and people


def station_staff(session: Session, station_id: int | None) -> list[Staff]:
    """Staff attached to the station."""
    if station_id is None:
        return []
    return list(
        session.scalars(select(Staff).where(Staff.station_id == station_id).order_by(Staff.id))
    )


def office_staff(session: Session, region_id: int | None) -> list[Staff]:
    """Region-level staff (no station) of the nearest enclosing region that has any.

    A case without a region (no station chosen yet) goes to the staff of the root regions.
    """
    regions = (
        region_chain(session, region_id)
        if region_id is not None
        else list(
            session.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.id))
        )
    )
    for region in regions:
        found = list(
            session.scalars(
                select(Staff)
                .where(Staff.region_id == region.id, Staff.station_id.is_(None))
                .order_by(Staff.id)
            )
        )
        if found:
            return found
    return []


def open_case_count(
    session: Session, *, deputy_id: int | None = None, staff_id: int | None = None
) -> int:
    """How many open cases are assigned to the deputy or staff member."""
    stmt = select(func.count(Case.id)).where(Case.status.in_(OPEN_VALUES))
    if deputy_id is not None:
        stmt = stmt.where(Case.assignee_deputy_id == deputy_id)
    else:
        stmt = stmt.where(Case.assignee_staff_id == staff_id)
    return int(session.scalar(stmt) or 0)


def find_station(session: Session, name_or_code: str) -> Station | None:
    """A station by code, exact name, or a unique name fragment."""
    key = name_or_code.strip()
    if not key:
        return None
    exact = session.scalars(
        select(Station).where((Station.code == key) | (Station.name == key))
    ).first()
    if exact is not None:
        return exact
    like = list(session.scalars(select(Station).where(Station.name.contains(key))).all())
    return like[0] if len(like) == 1 else None


def find_region(session: Session, name_or_code: str) -> Region | None:
    """A region by code, exact name, or a unique name fragment."""
    key = name_or_code.strip()
    if not key:
        return None
    exact = session.scalars(
        select(Region).where((Region.code == key) | (Region.name == key))
    ).first()
    if exact is not None:
        return exact
    like = list(session.scalars(select(Region).where(Region.name.contains(key))).all())
    return like[0] if len(like) == 1 else None


def find_department(session: Session, name: str, region_id: int | None) -> Department | None:
    """A department by code, name or alias; a unique fragment also matches; nearest region wins."""
    key = name.strip()
    if not key:
        return None
    candidates = list(session.scalars(select(Department).order_by(Department.id)))
    chain = [r.id for r in region_chain(session, region_id)]

    def rank(d: Department) -> int:
        return chain.index(d.region_id) if d.region_id in chain else len(chain)

    def aliases(d: Department) -> list[str]:
        return [a.strip() for a in (d.aliases or "").replace("，", ",").split(",") if a.strip()]

    exact = [d for d in candidates if key in (d.code, d.name, *aliases(d))]
    if exact:
        return min(exact, key=rank)
    partial = [d for d in candidates if key in d.name or any(key in a for a in aliases(d))]
    best = sorted(partial, key=rank)
    if len(best) == 1 or (len(best) > 1 and rank(best[0]) < rank(best[1])):
        return best[0]
    return None


def find_deputy(session: Session, name_or_code: str) -> Deputy | None:
    """An active deputy by code or unique full name."""
    key = name_or_code.strip()
    by_code = session.scalars(
        select(Deputy).where(Deputy.code == key, Deputy.active.is_(True))
    ).first()
    if by_code is not None:
        return by_code
    named = list(session.scalars(select(Deputy).where(Deputy.name == key, Deputy.active.is_(True))))
    return named[0] if len(named) == 1 else None


def nearest_station(session: Session, lat: float, lng: float) -> Station | None:
    """The station with coordinates closest to (lat, lng), by great-circle distance."""
    stations = session.scalars(
        select(Station)
        .where(Station.lat.is_not(None), Station.lng.is_not(None))
        .order_by(Station.id)
    )
    best: tuple[float, Station] | None = None
    for station in stations:
        assert station.lat is not None and station.lng is not None
        d = haversine_km(lat, lng, station.lat, station.lng)
        if best is None or d < best[0]:
            best = (d, station)
    return best[1] if best else None


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, a)))


# ---------------------------------------------------------------- cases


def lock_case(session: Session, case_id: int) -> Case | None:
    """Load a case with its row locked for this transaction (fresh, even if cached)."""
    stmt = (
        select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).first()


def latest_open_case(session: Session, constituent: Constituent) -> Case | None:
    """The constituent's most recent open case."""
    stmt = (
        select(Case)
        .where(Case.constituent_id == constituent.id, Case.status.in_(OPEN_VALUES))
        .order_by(Case.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


# Which deadline runs in each status: none while the constituent is asked (need_info) or has to
# rate (replied), and none once the case is finished.
_CLAIM_PHASE = frozenset({"new", "assigned"})
_HANDLING_PHASE = frozenset({"accepted", "reopened", "transferred"})


def current_deadline(case: Case) -> tuple[str, datetime] | None:
    """The SLA phase now running ("claim" | "answer" | "close") and its due time."""
    if case.status in _CLAIM_PHASE:
        phase, due = "claim", case.claim_due_at
    elif case.status in _HANDLING_PHASE:
        if case.first_answered_at is None:
            phase, due = "answer", case.answer_due_at
        else:
            phase, due = "close", case.close_due_at
    else:
        return None
    return (phase, due) if due is not None else None
