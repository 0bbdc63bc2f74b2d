"""The figures' inputs counted in SQL: one GROUP BY per grouping, never a row per case in Python.

Every query reads the report's rows `R` (handlers/stats/rowset), filled for the report's scope.

`counts` sums the conditions of docs/statistics.md per group (cases and their ratings in one
pass over `R`); `ranked_hours` returns, per group, only the ranked spans a median and a
nearest-rank 90th percentile need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, literal_column, or_, select, union_all
from sqlalchemy import case as when
from sqlalchemy.orm import Session

from handlers.stats.rowset import RATED, SATISFIED, R
from handlers.stats.window import Window
from storage.models import Case

__all__ = ["RATED", "SATISFIED", "Counts", "RatingCounts", "Ranked", "Scope", "counts"]
CLOSED_STATUSES = ("closed", "expired")
HOUR_KINDS = ("claim", "answer", "close")

Key = ColumnElement[Any] | None  # the SQL expression a grouping groups by; None = one group


@dataclass(frozen=True)
class Scope:
    """Which cases a report covers: a region subtree and/or some stations (None = all)."""

    region_ids: frozenset[int] | None = None
    station_ids: frozenset[int] | None = None

    def where(self) -> ColumnElement[bool]:
        """The WHERE clause on `cases`."""
        out: list[ColumnElement[bool]] = []
        if self.region_ids is not None:
            out.append(Case.region_id.in_(self.region_ids))
        if self.station_ids is not None:
            out.append(Case.station_id.in_(self.station_ids))
        return and_(True, *out)


@dataclass(frozen=True)
class Counts:
    """The case counts of one group."""

    collected: int = 0
    co_signers: int = 0
    answered: int = 0
    due_or_answered: int = 0
    timely: int = 0
    closed: int = 0
    rejected: int = 0
    reworked: int = 0


@dataclass(frozen=True)
class RatingCounts:
    """The ratings given in the window for one group's cases."""

    rated: int = 0
    satisfied: int = 0
    unrated: int = 0


@dataclass(frozen=True)
class Ranked:
    """The spans of one group and kind that a median and p90 read, by rank (1 = smallest)."""

    n: int
    by_rank: Mapping[int, float]


def _in(column: Any, w: Window) -> ColumnElement[bool]:
    return and_(column >= w.start, column < w.end)


def opened(w: Window) -> ColumnElement[bool]:
    """Opened in the window."""
    return _in(R.c.created_at, w)


def collected(w: Window) -> ColumnElement[bool]:
    """Opened in the window and not merged into another case as 附议."""
    return and_(opened(w), R.c.status != "merged")


def _n(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


def _grouped(stmt: Any, key: Key) -> Any:
    if key is None:
        return stmt.add_columns(literal(None).label("k"))
    return stmt.add_columns(key.label("k")).group_by(key)


def counts(session: Session, w: Window, key: Key) -> dict[Any, tuple[Counts, RatingCounts]]:
    """Case counts and the window's rating counts per value of `key` over the report's cases."""
    base = R.c.in_base  # a row only rated in the window counts its ratings, nothing else
    due_or_answered = and_(
        base,
        R.c.status != "merged",
        R.c.answer_due_at.is_not(None),
        or_(_in(R.c.answer_due_at, w), _in(R.c.first_answered_at, w)),
    )
    got = and_(base, collected(w))
    stmt = select(
        _n(got),
        _n(and_(base, opened(w), R.c.status == "merged")),
        _n(and_(got, R.c.first_answered_at < w.end)),
        _n(due_or_answered),
        _n(and_(due_or_answered, R.c.first_answered_at <= R.c.answer_due_at)),
        _n(and_(got, R.c.status.in_(CLOSED_STATUSES), R.c.closed_at < w.end)),
        _n(and_(got, R.c.status == "rejected")),
        _n(and_(got, R.c.rework_count > 0)),
        func.coalesce(func.sum(R.c.rated), 0),
        func.coalesce(func.sum(R.c.satisfied), 0),
        func.coalesce(func.sum(R.c.unrated), 0),
    )
    rows = session.execute(_grouped(stmt, key)).all()
    return {
        row[-1]: (Counts(*(int(v) for v in row[:8])), RatingCounts(*(int(v) for v in row[8:11])))
        for row in rows
    }


def collected_counts(session: Session, w: Window, key: Key) -> dict[Any, int]:
    """Only the `collected` count per value of `key`, for the groups of the same report rows
    as `counts` (a group whose cases were only rated in the window counts 0)."""
    stmt = select(_n(and_(R.c.in_base, collected(w))))
    return {row[-1]: int(row[0]) for row in session.execute(_grouped(stmt, key))}


def _pool(kind: str, w: Window) -> tuple[Any, ColumnElement[bool]]:
    """The stored span of `kind` and the cases it is published over (as of the window's end)."""
    got = collected(w)
    if kind == "claim":
        return R.c.to_claim, and_(got, R.c.claimed_at < w.end)
    if kind == "answer":
        return R.c.to_answer, and_(got, R.c.first_answered_at < w.end)
    closed = and_(got, R.c.status.in_(CLOSED_STATUSES), R.c.closed_at < w.end)
    return R.c.to_close, closed


def ranked_hours(session: Session, w: Window, key: Key) -> dict[tuple[Any, str], Ranked]:
    """Per (key value, kind): how many spans, and the ones at the median's and p90's ranks."""
    parts = []
    for kind in HOUR_KINDS:
        column, pool = _pool(kind, w)
        # one window (the whole partition as frame) for both, so the database sorts once and
        # makes one pass; row_number ignores the frame
        window = {
            "partition_by": [key] if key is not None else [],
            "order_by": column,
            "rows": (None, None),
        }
        parts.append(
            select(
                (key if key is not None else literal(None)).label("k"),
                literal(kind).label("kind"),
                column.label("h"),
                func.row_number().over(**window).label("rn"),
                func.count().over(**window).label("n"),
            ).where(pool, column.is_not(None))
        )
    ranked = union_all(*parts).subquery()
    n, rn = ranked.c.n, ranked.c.rn
    # median: ranks ⌊n/2⌋ and ⌊n/2⌋+1 (one of them for odd n); p90: ⌈0.9·n⌉ = ⌊(9n+9)/10⌋
    # ("/" of two integers is integer division on PostgreSQL and SQLite alike)
    half = n.op("/")(literal_column("2"))
    p90 = (n * literal_column("9") + literal_column("9")).self_group().op("/")(literal_column("10"))
    wanted = or_(rn == half, rn == half + literal_column("1"), rn == p90)
    stmt = select(ranked.c.k, ranked.c.kind, ranked.c.rn, ranked.c.n, ranked.c.h).where(wanted)
    found: dict[tuple[Any, str], tuple[int, dict[int, float]]] = {}
    for k, kind, rn, count, h in session.execute(stmt):
        found.setdefault((k, kind), (int(count), {}))[1][int(rn)] = float(h)
    return {group: Ranked(count, ranks) for group, (count, ranks) in found.items()}
