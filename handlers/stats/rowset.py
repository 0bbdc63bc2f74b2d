"""The cases of one report, copied once into a narrow temporary table that every query reads.

A report asks a dozen GROUP BY questions of the same few thousand cases; reading them from
`cases` each time would fetch the wide rows again and again. The copy holds only the columns
statistics use (the stored working hours, and how many ratings of each kind the case got in
the window, so no grouping joins `ratings` again), lives in the report's transaction and is
dropped when the report is built. While copying, it marks the cases whose stored working
hours are missing or stale; those are computed, stored and copied in before any query runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy import case as when
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable, DropTable

from handlers.stats import spans
from handlers.stats.window import Window
from handlers.workcal import WorkCalendar
from storage.models import Case, CaseHours, Rating, UTCDateTime

R = Table(
    "lianxin_stats_rows",
    MetaData(),
    Column("id", Integer),
    Column("in_base", Boolean),  # opened, due or first answered in the window (else only rated)
    Column("status", String(16)),
    Column("source", String(16)),
    Column("region_id", Integer),
    Column("station_id", Integer),
    Column("deputy_id", Integer),
    Column("category", String(64)),
    Column("created_at", UTCDateTime()),
    Column("claimed_at", UTCDateTime()),
    Column("first_answered_at", UTCDateTime()),
    Column("closed_at", UTCDateTime()),
    Column("answer_due_at", UTCDateTime()),
    Column("rework_count", Integer),
    Column("to_claim", Float),
    Column("to_answer", Float),
    Column("to_close", Float),
    Column("rated", Integer),  # ratings given in the window: satisfied, basic or unsatisfied
    Column("satisfied", Integer),  # … satisfied or basic
    Column("unrated", Integer),  # … recorded as 未评价
    Column("stale", Boolean),  # collected in the window, its stored hours missing or stale
    prefixes=["TEMPORARY"],
)
SATISFIED = ("satisfied", "basic")
RATED = ("satisfied", "basic", "unsatisfied")


def _in(column: Any, w: Window) -> ColumnElement[bool]:
    return and_(column >= w.start, column < w.end)


def base_of(w: Window) -> ColumnElement[bool]:
    """Every case a report counts: opened, due for an answer, or first answered in the window."""
    return and_(
        Case.created_at < w.end,
        or_(_in(Case.created_at, w), _in(Case.answer_due_at, w), _in(Case.first_answered_at, w)),
    )


def _n(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def rated_in(w: Window, *which: ColumnElement[bool]) -> Any:
    """Per case with a rating given in the window (and `which`): how many of each kind."""
    return (
        select(
            Rating.case_id.label("case_id"),
            _n(Rating.value.in_(RATED)).label("rated"),
            _n(Rating.value.in_(SATISFIED)).label("satisfied"),
            _n(Rating.value == "unrated").label("unrated"),
        )
        .where(_in(Rating.created_at, w), *which)
        .group_by(Rating.case_id)
        .subquery()
    )


@contextmanager
def report_rows(
    session: Session, scope: ColumnElement[bool], w: Window, cal: WorkCalendar
) -> Iterator[None]:
    """Fill `R` with the report's cases (and those rated in the window) for the block's queries,
    with fresh working hours (on `cal`) for every case collected in the window."""
    session.execute(DropTable(R, if_exists=True))
    session.execute(CreateTable(R))
    # two statements, so each can use its indexes (an OR of both would scan every case): the
    # report's cases, then those only rated in the window (a case in scope missing from R
    # is not one of the report's cases)
    stale = and_(spans.collected_in(w.start, w.end), spans.stale(cal))
    _copy(session, scope, base_of(w), rated_in(w), stale, in_base=True)
    only_rated = rated_in(w, Rating.case_id.not_in(select(R.c.id)))
    _copy(session, scope, and_(True), only_rated, literal(False), in_base=False)
    _refresh_hours(session, cal)
    try:
        yield
    finally:
        session.execute(DropTable(R, if_exists=True))


def _copy(
    session: Session,
    scope: ColumnElement[bool],
    which: ColumnElement[bool],
    rated: Any,
    stale: ColumnElement[bool],
    *,
    in_base: bool,
) -> None:
    """Copy the cases matching `scope` and `which` into R, with their ratings' counts from
    `rated` (every case of the report's base; else only the cases `rated` holds)."""
    cases = Case.__table__
    on = rated.c.case_id == Case.id
    source = cases.outerjoin(rated, on) if in_base else cases.join(rated, on)
    rows = (
        select(
            Case.id,
            literal(in_base),
            Case.status,
            Case.source,
            Case.region_id,
            Case.station_id,
            Case.assignee_deputy_id,
            Case.category,
            Case.created_at,
            Case.claimed_at,
            Case.first_answered_at,
            Case.closed_at,
            Case.answer_due_at,
            Case.rework_count,
            CaseHours.to_claim,
            CaseHours.to_answer,
            CaseHours.to_close,
            func.coalesce(rated.c.rated, 0),
            func.coalesce(rated.c.satisfied, 0),
            func.coalesce(rated.c.unrated, 0),
            stale,
        )
        .select_from(source)
        .outerjoin(CaseHours, CaseHours.case_id == Case.id)
        .where(scope, which)
    )
    session.execute(R.insert().from_select([c.name for c in R.columns], rows))


def _refresh_hours(session: Session, cal: WorkCalendar) -> None:
    """Compute and store the hours of the rows marked stale, and copy them into R."""
    rows = session.execute(
        select(R.c.id, R.c.created_at, R.c.claimed_at, R.c.first_answered_at, R.c.closed_at)
        .where(R.c.stale)
        .order_by(R.c.id)
    ).all()
    if not spans.store(session, cal, rows):
        return
    session.execute(
        update(R)
        .where(R.c.stale, R.c.id == CaseHours.case_id)
        .values(
            to_claim=CaseHours.to_claim,
            to_answer=CaseHours.to_answer,
            to_close=CaseHours.to_close,
        )
    )
