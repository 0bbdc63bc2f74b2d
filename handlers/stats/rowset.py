"""The cases of one report, copied once into a narrow temporary table that every query reads.

A report asks a dozen GROUP BY questions of the same few thousand cases; reading them from
`cases` each time would fetch the wide rows again and again. The copy holds only the columns
statistics use (and the stored working hours), lives in the report's transaction and is
dropped when the report is built.
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
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable, DropTable

from handlers.stats.window import Window
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
    prefixes=["TEMPORARY"],
)


def _in(column: Any, w: Window) -> ColumnElement[bool]:
    return and_(column >= w.start, column < w.end)


def base_of(w: Window) -> ColumnElement[bool]:
    """Every case a report counts: opened, due for an answer, or first answered in the window."""
    return and_(
        Case.created_at < w.end,
        or_(_in(Case.created_at, w), _in(Case.answer_due_at, w), _in(Case.first_answered_at, w)),
    )


@contextmanager
def report_rows(session: Session, scope: ColumnElement[bool], w: Window) -> Iterator[None]:
    """Fill `R` with the report's cases (and those rated in the window) for the block's queries."""
    session.execute(DropTable(R, if_exists=True))
    session.execute(CreateTable(R))
    # two statements, so each can use its indexes (an OR of both would scan every case): the
    # report's cases, then those only rated in the window (a case in scope missing from R
    # is not one of the report's cases)
    rated = (
        select(Rating.case_id)
        .where(_in(Rating.created_at, w), Rating.case_id.not_in(select(R.c.id)))
        .distinct()
        .subquery()
    )
    names = [c.name for c in R.columns]
    for in_base, source, which in (
        (True, Case.__table__, base_of(w)),
        (False, Case.__table__.join(rated, rated.c.case_id == Case.id), and_(True)),
    ):
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
            )
            .select_from(source)
            .outerjoin(CaseHours, CaseHours.case_id == Case.id)
            .where(scope, which)
        )
        session.execute(R.insert().from_select(names, rows))
    try:
        yield
    finally:
        session.execute(DropTable(R, if_exists=True))
