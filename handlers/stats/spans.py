"""Each case's working hours to claim, answer and close, kept in `case_hours` for SQL reports.

A median of working hours needs one span per case, and spans need the working calendar, which
SQL does not know. So spans are computed here once per case and stored with their inputs (the
case's timestamps and a key of the calendar); a report marks the rows that are missing or whose
inputs changed (`stale`, while it copies its cases), `store` recomputes exactly those, and the
report then ranks the stored values in SQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import chinese_calendar
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from handlers.stats.clock import WorkClock
from handlers.workcal import WorkCalendar
from storage.models import Case, CaseHours

_BATCH = 1000


def calendar_key(cal: WorkCalendar) -> str:
    """A fingerprint of everything working time depends on (hours, zone, holiday data)."""
    h = cal.hours
    parts = [
        h.tz.key,
        h.start.isoformat(),
        h.end.isoformat(),
        ";".join(f"{a.isoformat()}-{b.isoformat()}" for a, b in h.breaks),
        ",".join(sorted(d.isoformat() for d in cal.extra_holidays)),
        ",".join(sorted(d.isoformat() for d in cal.extra_workdays)),
        ",".join(str(y) for y in sorted(cal.library_years)),
        str(getattr(chinese_calendar, "__version__", "")),
    ]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


def stale(cal: WorkCalendar) -> ColumnElement[bool]:
    """Over `cases` outer-joined with `case_hours`: the stored hours are missing or stale."""
    key = calendar_key(cal)
    return or_(
        CaseHours.case_id.is_(None),
        CaseHours.calendar_key != key,
        CaseHours.created_at != Case.created_at,
        CaseHours.claimed_at.is_distinct_from(Case.claimed_at),
        CaseHours.first_answered_at.is_distinct_from(Case.first_answered_at),
        CaseHours.closed_at.is_distinct_from(Case.closed_at),
    )


def _span(clock: WorkClock, start: datetime, stop: datetime | None) -> float | None:
    """Working hours from `start` to `stop`; None without a stop or when it precedes the start."""
    if stop is None or stop < start:
        return None
    return clock.between(start, stop) / 3600


def store(session: Session, cal: WorkCalendar, rows: Sequence[Any]) -> int:
    """Compute and store the hours of these cases (id, created_at, claimed_at,
    first_answered_at, closed_at each), in id order so concurrent reports cannot deadlock."""
    if not rows:
        return 0
    key = calendar_key(cal)
    first = min(r.created_at for r in rows).astimezone(cal.hours.tz).date()
    clock = WorkClock(cal, first - timedelta(days=1))
    values = [
        {
            "case_id": r.id,
            "calendar_key": key,
            "created_at": r.created_at,
            "claimed_at": r.claimed_at,
            "first_answered_at": r.first_answered_at,
            "closed_at": r.closed_at,
            "to_claim": _span(clock, r.created_at, r.claimed_at),
            "to_answer": _span(clock, r.created_at, r.first_answered_at),
            "to_close": _span(clock, r.created_at, r.closed_at),
        }
        for r in sorted(rows, key=lambda r: r.id)
    ]
    # Core executemany (batched by the driver): a compiled multi-row VALUES is far slower
    connection = session.connection()
    for i in range(0, len(values), _BATCH):
        connection.execute(_upsert(session), values[i : i + _BATCH])
    return len(values)


def _upsert(session: Session) -> Any:
    """INSERT … ON CONFLICT (case_id) DO UPDATE, in the dialect of the session's database."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CaseHours)
    columns = [c.name for c in CaseHours.__table__.columns if c.name != "case_id"]
    return stmt.on_conflict_do_update(
        index_elements=[CaseHours.case_id], set_={c: stmt.excluded[c] for c in columns}
    )


def collected_in(window_start: datetime, window_end: datetime) -> ColumnElement[bool]:
    """The cases whose spans a report of the window publishes (collected in it)."""
    return and_(
        Case.created_at >= window_start, Case.created_at < window_end, Case.status != "merged"
    )
