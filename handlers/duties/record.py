"""The 履职档案: every activity of a deputy in a year, as it was recorded, with its 积分.

Nothing is copied into an archive table: cases come from the case event log (routed or
reassigned to the deputy, claimed, answered, and the ratings of those answers), questionnaires
and votes from `solicit_targets`, offline activities from `duty_activities`. So the archive
is complete for every year the data covers and never drifts from the cases themselves.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.duties import record_texts as rt
from storage.models import (
    Case,
    CaseEvent,
    Deputy,
    Document,
    DocumentRead,
    DutyActivity,
    Meeting,
    MeetingAttendee,
    Rating,
    Solicitation,
    SolicitTarget,
)

Add = Callable[[int, date, str, str], None]
RATING_KEYS = {
    "satisfied": "rating_satisfied",
    "basic": "rating_basic",
    "unsatisfied": "rating_unsatisfied",
}


def default_points() -> dict[str, float]:
    """The shipped weights (handlers/duties/points.toml)."""
    text = resources.files("handlers.duties").joinpath("points.toml").read_text("utf-8")
    return {k: float(v) for k, v in tomllib.loads(text).items()}


def points_table(overrides: Mapping[str, float]) -> dict[str, float]:
    """The shipped weights with the config's overrides; ValueError names an unknown key."""
    table = default_points()
    unknown = sorted(set(overrides) - set(table))
    if unknown:
        raise ValueError(f"unknown [duties.points] keys {unknown}; known: {sorted(table)}")
    table.update({k: float(v) for k, v in overrides.items()})
    return table


@dataclass(frozen=True)
class Entry:
    """One activity in the archive."""

    day: date
    key: str  # a points key
    detail: str
    points: float

    @property
    def label(self) -> str:
        """Chinese name of the activity."""
        return rt.ACTIVITY_LABELS[self.key]


@dataclass
class Archive:
    """A deputy's 履职档案 for one year."""

    deputy: Deputy
    year: int
    entries: list[Entry] = field(default_factory=list)

    @property
    def total(self) -> float:
        """The 履职积分."""
        return sum(e.points for e in self.entries)

    def summary(self) -> list[tuple[str, int, float]]:
        """(label, count, points) per activity, in the order of the points table."""
        counts: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for e in self.entries:
            counts[e.key][0] += 1
            counts[e.key][1] += e.points
        return [
            (rt.ACTIVITY_LABELS[k], int(v[0]), v[1])
            for k, v in sorted(counts.items(), key=lambda kv: list(rt.ACTIVITY_LABELS).index(kv[0]))
        ]


def year_window(year: int) -> tuple[datetime, datetime]:
    """The Beijing calendar year as aware UTC instants [start, end)."""
    start = datetime(year, 1, 1, tzinfo=rt.BEIJING).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=rt.BEIJING).astimezone(UTC)
    return start, end


def archives(
    session: Session, year: int, points: Mapping[str, float], deputy_ids: set[int] | None = None
) -> dict[int, Archive]:
    """The archives of the given deputies (all active deputies when None) for `year`."""
    stmt = select(Deputy).order_by(Deputy.code)
    if deputy_ids is not None:
        stmt = stmt.where(Deputy.id.in_(deputy_ids))
    out = {d.id: Archive(d, year) for d in session.scalars(stmt)}
    window = year_window(year)

    def add(deputy_id: int, day: date, key: str, detail: str) -> None:
        if deputy_id in out:
            out[deputy_id].entries.append(Entry(day, key, detail, points[key]))

    _cases(session, window, add)
    _solicitations(session, window, add)
    _meetings(session, window, add)
    _documents(session, window, add)
    _activities(session, year, add)
    for archive in out.values():
        archive.entries.sort(key=lambda e: (e.day, list(rt.ACTIVITY_LABELS).index(e.key)))
    return out


def _day(t: datetime) -> date:
    return t.astimezone(rt.BEIJING).date()


def _cases(session: Session, window: tuple[datetime, datetime], add: Add) -> None:
    start, end = window
    stmt = (
        select(CaseEvent, Case)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.kind == "transition",
            CaseEvent.action.in_(("route", "reassign", "claim", "reply")),
            CaseEvent.at >= start,
            CaseEvent.at < end,
        )
        .order_by(CaseEvent.at, CaseEvent.id)
    )
    answered: set[tuple[int, int]] = set()
    replies: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for ev, case in session.execute(stmt).all():
        if ev.action in ("route", "reassign"):
            target = (ev.payload or {}).get("deputy_id")
            if isinstance(target, int):
                add(target, _day(ev.at), "case_received", rt.case_detail(case.id))
            continue
        if ev.actor_kind != "deputy" or not str(ev.actor_id or "").isdigit():
            continue
        deputy_id = int(str(ev.actor_id))
        if ev.action == "claim":
            add(deputy_id, _day(ev.at), "case_claimed", rt.case_detail(case.id))
            continue
        replies[case.id].append((ev.at, deputy_id))
        if (case.id, deputy_id) in answered:
            continue  # a second answer (after 不满意) counts once
        answered.add((case.id, deputy_id))
        add(deputy_id, _day(ev.at), "case_answered", rt.case_detail(case.id))
        if case.answer_due_at is None or ev.at <= case.answer_due_at:
            add(deputy_id, _day(ev.at), "case_answered_on_time", rt.case_detail(case.id))
    _ratings(session, window, replies, add)


def _ratings(
    session: Session,
    window: tuple[datetime, datetime],
    replies: dict[int, list[tuple[datetime, int]]],
    add: Add,
) -> None:
    """Each rating goes to the deputy whose answer (the latest before it) was rated."""
    start, end = window
    stmt = (
        select(Rating)
        .where(Rating.created_at >= start, Rating.created_at < end)
        .order_by(Rating.id)
    )
    for rating in session.scalars(stmt):
        key = RATING_KEYS.get(rating.value)
        before = [r for r in replies.get(rating.case_id, []) if r[0] <= rating.created_at]
        if key is None or not before:
            continue
        add(
            before[-1][1],
            _day(rating.created_at),
            key,
            rt.rating_detail(rating.case_id, rating.value),
        )


def _solicitations(session: Session, window: tuple[datetime, datetime], add: Add) -> None:
    start, end = window
    stmt = (
        select(SolicitTarget, Solicitation)
        .join(Solicitation, Solicitation.id == SolicitTarget.solicitation_id)
        .where(
            SolicitTarget.status.in_(("answered", "voted")),
            Solicitation.created_at >= start,
            Solicitation.created_at < end,
        )
        .order_by(Solicitation.id)
    )
    for target, sol in session.execute(stmt).all():
        # a secret ballot keeps no time: it is dated by its vote's deadline
        when = target.answered_at or sol.deadline
        key = "vote_cast" if sol.kind == "vote" else "survey_answered"
        add(target.deputy_id, _day(when), key, rt.solicit_detail(sol.id, sol.title))


def _activities(session: Session, year: int, add: Add) -> None:
    stmt = (
        select(DutyActivity)
        .where(
            DutyActivity.occurred_on >= date(year, 1, 1),
            DutyActivity.occurred_on <= date(year, 12, 31),
        )
        .order_by(DutyActivity.occurred_on, DutyActivity.id)
    )
    for a in session.scalars(stmt):
        add(a.deputy_id, a.occurred_on, "activity_registered", rt.activity_detail(a))
        if a.status == "confirmed":
            add(a.deputy_id, a.occurred_on, "activity_confirmed", rt.activity_detail(a))


def _meetings(session: Session, window: tuple[datetime, datetime], add: Add) -> None:
    start, end = window
    stmt = (
        select(MeetingAttendee, Meeting)
        .join(Meeting, Meeting.id == MeetingAttendee.meeting_id)
        .where(Meeting.starts_at >= start, Meeting.starts_at < end)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    for a, m in session.execute(stmt).all():
        if a.checked_in_at is not None:
            add(
                a.deputy_id, _day(m.starts_at), "meeting_attended", rt.meeting_detail(m.id, m.title)
            )
        elif a.status == "excused":
            add(
                a.deputy_id,
                _day(m.starts_at),
                "meeting_excused",
                rt.meeting_detail(m.id, m.title, a.reason),
            )


def _documents(session: Session, window: tuple[datetime, datetime], add: Add) -> None:
    start, end = window
    stmt = (
        select(DocumentRead, Document)
        .join(Document, Document.id == DocumentRead.document_id)
        .where(DocumentRead.confirmed_at >= start, DocumentRead.confirmed_at < end)
        .order_by(DocumentRead.confirmed_at)
    )
    for r, d in session.execute(stmt).all():
        assert r.confirmed_at is not None
        add(r.deputy_id, _day(r.confirmed_at), "document_read", rt.document_detail(d.title))
