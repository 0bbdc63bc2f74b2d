"""Load the few columns statistics need, for the cases of a region subtree around a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from handlers.stats.window import Window
from storage.models import Case, Rating


@dataclass(frozen=True)
class CaseRow:
    """One case as statistics see it (no text, no personal data)."""

    id: int
    status: str
    source: str
    region_id: int | None
    station_id: int | None
    deputy_id: int | None
    category: str | None
    merged_into_id: int | None
    created_at: datetime
    claimed_at: datetime | None
    first_answered_at: datetime | None
    closed_at: datetime | None
    answer_due_at: datetime | None
    rework_count: int = 0


@dataclass(frozen=True)
class RatingRow:
    """One rating given in the window, with the case it belongs to."""

    case_id: int
    value: str  # satisfied | basic | unsatisfied | unrated
    created_at: datetime


_COLUMNS = (
    Case.id,
    Case.status,
    Case.source,
    Case.region_id,
    Case.station_id,
    Case.assignee_deputy_id,
    Case.category,
    Case.merged_into_id,
    Case.created_at,
    Case.claimed_at,
    Case.first_answered_at,
    Case.closed_at,
    Case.answer_due_at,
    Case.rework_count,
)


def _in(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None], window: Window
) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


def _case_row(row: Row[*tuple[Any, ...]]) -> CaseRow:
    values: tuple[Any, ...] = tuple(row)
    return CaseRow(*values)


def load_cases(
    session: Session,
    region_ids: set[int] | None,
    window: Window,
    station_ids: frozenset[int] | None = None,
) -> list[CaseRow]:
    """Cases opened, due for an answer, or answered in the window; `None` = no restriction."""
    stmt = select(*_COLUMNS).where(
        Case.created_at < window.end,
        or_(
            _in(Case.created_at, window),
            _in(Case.answer_due_at, window),
            _in(Case.first_answered_at, window),
        ),
    )
    if region_ids is not None:
        stmt = stmt.where(Case.region_id.in_(region_ids))
    if station_ids is not None:
        stmt = stmt.where(Case.station_id.in_(station_ids))
    return [_case_row(row) for row in session.execute(stmt)]


def load_ratings(session: Session, case_ids: set[int] | None, window: Window) -> list[RatingRow]:
    """Ratings given in the window (for cases of `case_ids`, or every case when None)."""
    stmt = select(Rating.case_id, Rating.value, Rating.created_at).where(
        _in(Rating.created_at, window)
    )
    rows = [RatingRow(case_id, value, at) for case_id, value, at in session.execute(stmt)]
    if case_ids is None:
        return rows
    return [r for r in rows if r.case_id in case_ids]


def cases_by_id(session: Session, ids: set[int]) -> dict[int, CaseRow]:
    """Rows for the given case ids (the cases of ratings whose case lies outside the window)."""
    out: dict[int, CaseRow] = {}
    id_list = sorted(ids)
    for i in range(0, len(id_list), 500):
        chunk = id_list[i : i + 500]
        for row in session.execute(select(*_COLUMNS).where(Case.id.in_(chunk))):
            out[row[0]] = _case_row(row)
    return out
