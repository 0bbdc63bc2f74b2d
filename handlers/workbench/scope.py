"""Who may see which cases in the workbench — enforced on the server for every page and export.

Office staff (no station) see their region and everything below it; station staff their
station; a deputy their own cases and their stations'; an admin everything, plus the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from handlers import queries
from handlers.queries import Person
from storage.models import Case, Deputy, Region, Staff, Station


@dataclass(frozen=True)
class Viewer:
    """A logged-in person and what they may see."""

    person: Person
    is_admin: bool = False

    @property
    def role(self) -> str:
        """admin | office | station | deputy."""
        if self.is_admin:
            return "admin"
        if self.person.kind == "deputy":
            return "deputy"
        return "station" if self.person.station_ids else "office"

    @property
    def role_label(self) -> str:
        """The role in Chinese, for the page header."""
        return {"admin": "管理员", "office": "人大办公室", "station": "联络站", "deputy": "代表"}[
            self.role
        ]


def viewer_for(session: Session, dingtalk_user_id: str, admins: frozenset[str]) -> Viewer | None:
    """The directory person behind a DingTalk user id (staff first), or None for strangers."""
    person = queries.person_by_platform(session, "dingtalk", dingtalk_user_id)
    if person is None:
        return None
    return Viewer(person, is_admin=dingtalk_user_id in admins)


def viewer_by_id(
    session: Session, kind: str, person_id: int, admins: frozenset[str]
) -> Viewer | None:
    """The viewer of a stored login session (None if the person left the directory)."""
    if kind == "staff":
        staff = session.get(Staff, person_id)
        person = queries.staff_person(staff) if staff is not None else None
    else:
        deputy = session.get(Deputy, person_id)
        person = queries.deputy_person(session, deputy) if deputy and deputy.active else None
    if person is None:
        return None
    return Viewer(person, is_admin=(person.dingtalk_user_id or "") in admins)


def visible_cases(session: Session, viewer: Viewer) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the cases `viewer` may see."""
    p = viewer.person
    if viewer.is_admin:
        return true()
    if p.kind == "deputy":
        return or_(Case.assignee_deputy_id == p.id, Case.station_id.in_(p.station_ids))
    if p.station_ids:
        return or_(Case.assignee_staff_id == p.id, Case.station_id.in_(p.station_ids))
    if p.region_id is None:
        return false()
    return or_(
        Case.assignee_staff_id == p.id,
        Case.region_id.in_(queries.region_subtree_ids(session, p.region_id)),
    )


def may_see(session: Session, viewer: Viewer, case_id: int) -> bool:
    """True when the case exists and `viewer` may see it."""
    stmt = select(Case.id).where(Case.id == case_id, visible_cases(session, viewer))
    return session.scalars(stmt).first() is not None


def visible_regions(session: Session, viewer: Viewer) -> list[Region]:
    """The regions whose statistics `viewer` may read (the top of their scope first)."""
    p = viewer.person
    if viewer.is_admin:
        return list(session.scalars(select(Region).order_by(Region.level, Region.code)))
    if p.kind == "staff" and not p.station_ids and p.region_id is not None:
        ids = queries.region_subtree_ids(session, p.region_id)
        regions = list(session.scalars(select(Region).where(Region.id.in_(ids))))
        return sorted(regions, key=lambda r: (r.id != p.region_id, r.code))
    return []


def visible_stations(session: Session, viewer: Viewer) -> list[Station]:
    """Stations `viewer` may filter by."""
    p = viewer.person
    stmt = select(Station).order_by(Station.code)
    if viewer.is_admin:
        return list(session.scalars(stmt))
    if p.station_ids:
        return list(session.scalars(stmt.where(Station.id.in_(p.station_ids))))
    if p.region_id is None:
        return []
    ids = queries.region_subtree_ids(session, p.region_id)
    return list(session.scalars(stmt.where(Station.region_id.in_(ids))))


def handles(viewer: Viewer, case: Case) -> bool:
    """People handling the case read the constituent's words unmasked; others read them masked."""
    p = viewer.person
    if p.kind == "deputy":
        return case.assignee_deputy_id == p.id or case.station_id in p.station_ids
    if p.station_ids:
        return case.station_id in p.station_ids or case.assignee_staff_id == p.id
    return case.assignee_staff_id == p.id
