"""The 诉求 list: filters, full-text search, sorting and pagination over the viewer's scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from handlers import queries
from handlers.lifecycle import OPEN
from handlers.workbench.scope import Viewer, visible_cases
from storage.models import Case, Deputy, Region, Station

SORTS: dict[str, tuple[Any, ...]] = {
    "newest": (Case.created_at.desc(), Case.id.desc()),
    "oldest": (Case.created_at.asc(), Case.id.asc()),
    "due": (Case.answer_due_at.asc(), Case.id.asc()),
    "updated": (Case.updated_at.desc(), Case.id.desc()),
}
SORT_LABELS = {"newest": "最新收到", "oldest": "最早收到", "due": "答复时限", "updated": "最近更新"}
PER_PAGE = 30
OPEN_VALUES = tuple(s.value for s in OPEN)


@dataclass(frozen=True)
class CaseFilter:
    """What the viewer asked for; every field optional."""

    status: str = ""
    region_code: str = ""
    station_id: int | None = None
    deputy_id: int | None = None
    category: str = ""
    source: str = ""
    overdue: bool = False
    merged: bool = False  # only cases with 附议 (co-signers) or merged ones
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    q: str = ""
    sort: str = "newest"
    page: int = 1


@dataclass(frozen=True)
class CaseLine:
    """One row of the list."""

    id: int
    status: str
    source: str
    created_at: datetime
    text: str
    station: str | None
    deputy: str | None
    category: str | None
    answer_due_at: datetime | None
    overdue: bool
    handles: bool


@dataclass(frozen=True)
class CasePage:
    """One page of results with the total count."""

    lines: list[CaseLine]
    total: int
    page: int
    pages: int
    filters: CaseFilter = field(default_factory=CaseFilter)


def _filtered(session: Session, viewer: Viewer, f: CaseFilter, now: datetime) -> Select[Any]:
    stmt = select(Case).where(visible_cases(session, viewer))
    if f.status:
        stmt = stmt.where(Case.status == f.status)
    if f.region_code:
        region = session.scalars(select(Region).where(Region.code == f.region_code)).first()
        ids = queries.region_subtree_ids(session, region.id) if region else set()
        stmt = stmt.where(Case.region_id.in_(ids))
    if f.station_id is not None:
        stmt = stmt.where(Case.station_id == f.station_id)
    if f.deputy_id is not None:
        stmt = stmt.where(Case.assignee_deputy_id == f.deputy_id)
    if f.category:
        stmt = stmt.where(Case.category == f.category)
    if f.source:
        stmt = stmt.where(Case.source == f.source)
    if f.overdue:
        stmt = stmt.where(Case.status.in_(OPEN_VALUES), Case.answer_due_at < now)
        stmt = stmt.where(Case.first_answered_at.is_(None))
    if f.merged:
        co_signed = select(Case.merged_into_id).where(Case.merged_into_id.is_not(None))
        stmt = stmt.where(or_(Case.id.in_(co_signed), Case.status == "merged"))
    if f.opened_from is not None:
        stmt = stmt.where(Case.created_at >= f.opened_from)
    if f.opened_to is not None:
        stmt = stmt.where(Case.created_at < f.opened_to)
    if f.q.strip():
        term = f.q.strip()
        number = term.lstrip("#")
        cond = Case.text.contains(term, autoescape=True)
        stmt = stmt.where(or_(cond, Case.id == int(number)) if number.isdigit() else cond)
    return stmt


def list_cases(session: Session, viewer: Viewer, f: CaseFilter, now: datetime) -> CasePage:
    """The page of cases matching `f` within the viewer's scope."""
    from handlers.workbench.scope import handles

    stmt = _filtered(session, viewer, f, now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, f.page), pages)
    order = SORTS.get(f.sort, SORTS["newest"])
    rows = list(
        session.scalars(stmt.order_by(*order).offset((page - 1) * PER_PAGE).limit(PER_PAGE))
    )
    stations = _station_names(session, {c.station_id for c in rows})
    deputies = _deputy_names(session, {c.assignee_deputy_id for c in rows})
    lines = [
        CaseLine(
            id=c.id,
            status=c.status,
            source=c.source,
            created_at=c.created_at,
            text=c.text,
            station=stations.get(c.station_id) if c.station_id else None,
            deputy=deputies.get(c.assignee_deputy_id) if c.assignee_deputy_id else None,
            category=c.category,
            answer_due_at=c.answer_due_at,
            overdue=bool(
                c.status in OPEN_VALUES
                and c.first_answered_at is None
                and c.answer_due_at is not None
                and c.answer_due_at < now
            ),
            handles=handles(viewer, c),
        )
        for c in rows
    ]
    return CasePage(lines, total, page, pages, f)


def all_matching(
    session: Session, viewer: Viewer, f: CaseFilter, now: datetime, limit: int
) -> list[Case]:
    """Every matching case (for exports), oldest first, at most `limit`."""
    stmt = _filtered(session, viewer, f, now).order_by(Case.id).limit(limit)
    return list(session.scalars(stmt))


def _station_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    stmt = select(Station.id, Station.name).where(Station.id.in_(wanted))
    return {sid: name for sid, name in session.execute(stmt)} if wanted else {}


def _deputy_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    stmt = select(Deputy.id, Deputy.name).where(Deputy.id.in_(wanted))
    return {did: name for did, name in session.execute(stmt)} if wanted else {}
