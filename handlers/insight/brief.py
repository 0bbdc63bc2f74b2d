"""热点专报: the weekly hot-topic brief of a region, counted from stored cases only.

Every figure is a plain count over case ids, categories, places, merges (`merged_into_id`) and
recurrence links stored at intake: nothing is re-read or re-clustered here, so running the
brief twice over the same data gives the same numbers. The formulas are in `FORMULAS` and are
printed with the brief.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handlers.insight.category_set import active
from handlers.lifecycle import Status
from handlers.privacy import mask_text
from handlers.queries import region_subtree_ids
from storage.models import Case, Place, Region

BEIJING = ZoneInfo("Asia/Shanghai")
HISTORY_WEEKS = 4
TOP_GROUPS = 3
QUOTE_CHARS = 40
NO_CATEGORY = "未分类"
NO_PLACE = "地点未明"
_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


class BriefError(ValueError):
    """A week or region the brief cannot be made for; the message says why (English, for CLI)."""


@dataclass(frozen=True)
class Week:
    """An ISO week in Beijing time: Monday 00:00 to the next Monday 00:00."""

    year: int
    number: int

    @property
    def label(self) -> str:
        """`2026-W48`."""
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        """The week's Monday."""
        return date.fromisocalendar(self.year, self.number, 1)

    def start(self, weeks_before: int = 0) -> datetime:
        """The week's start (or that of a week `weeks_before` earlier) as aware UTC."""
        day = self.monday - timedelta(weeks=weeks_before)
        return datetime.combine(day, time(0), tzinfo=BEIJING).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 Beijing time, as aware UTC (exclusive)."""
        return self.start(-1)

    def previous(self) -> Week:
        """The week before."""
        y, w, _ = (self.monday - timedelta(weeks=1)).isocalendar()
        return Week(y, w)

    @staticmethod
    def of(day: date) -> Week:
        """The ISO week containing `day`."""
        y, w, _ = day.isocalendar()
        return Week(y, w)


def parse_week(text: str) -> Week:
    """`2026-W48` (also `2026W48`, `2026-w48`) as a Week, or BriefError."""
    m = _WEEK.match(text)
    if m is None:
        raise BriefError(f"week {text!r} is not like 2026-W48")
    week = Week(int(m.group(1)), int(m.group(2)))
    try:
        week.monday  # noqa: B018 - validates week 53 and 0
    except ValueError:
        raise BriefError(f"{week.label} does not exist") from None
    return week


@dataclass(frozen=True)
class Row:
    """One category or place: cases and distinct reporters this week, cases in the weeks before."""

    key: str
    cases: int
    reporters: int
    previous: tuple[int, ...]  # cases in each of the HISTORY_WEEKS weeks before, oldest first

    @property
    def previous_mean(self) -> float:
        """Mean weekly cases over the previous weeks."""
        return sum(self.previous) / len(self.previous)

    @property
    def change(self) -> float:
        """Cases this week minus the previous weeks' mean."""
        return self.cases - self.previous_mean


@dataclass(frozen=True)
class Recurrence:
    """A case opened this week that recurs an earlier one (复发)."""

    case_id: int
    of_case_id: int
    category: str
    place: str


@dataclass(frozen=True)
class Group:
    """An open main case with its co-signers, and one masked quote."""

    case_id: int
    category: str
    place: str
    reporters: int
    reports: int
    quote: str


@dataclass(frozen=True)
class Brief:
    """The brief of one region and week."""

    region_code: str
    region_name: str
    week: Week
    cases: int
    reporters: int
    cosigned: int
    by_category: tuple[Row, ...]
    by_place: tuple[Row, ...]
    recurrences: tuple[Recurrence, ...]
    top_open: tuple[Group, ...]


@dataclass(frozen=True)
class _Report:
    id: int
    constituent_id: int
    merged: bool
    group: int  # the main case's id (itself when not merged)
    week_index: int  # 0..HISTORY_WEEKS-1 the weeks before, HISTORY_WEEKS the brief's week
    recurrence_of: int | None


def build_brief(session: Session, region_code: str, week: Week) -> Brief:
    """Count the region's (and its sub-regions') cases of `week` and the four weeks before."""
    region = session.scalars(select(Region).where(Region.code == region_code)).first()
    if region is None:
        raise BriefError(f"unknown region {region_code!r}")
    regions = region_subtree_ids(session, region.id)
    reports, mains = _load(session, regions, week)
    places = _place_names(session, {m.place_id for m in mains.values() if m.place_id})
    category = {i: _category(c) for i, c in mains.items()}
    place = {i: places.get(c.place_id or 0, NO_PLACE) for i, c in mains.items()}
    this_week = [r for r in reports if r.week_index == HISTORY_WEEKS]
    return Brief(
        region_code=region.code,
        region_name=region.name,
        week=week,
        cases=sum(not r.merged for r in this_week),
        reporters=len({r.constituent_id for r in this_week}),
        cosigned=sum(r.merged for r in this_week),
        by_category=_rows(reports, category),
        by_place=_rows(reports, place),
        recurrences=tuple(
            Recurrence(r.id, r.recurrence_of, category[r.group], place[r.group])
            for r in this_week
            if r.recurrence_of is not None and not r.merged
        ),
        top_open=_top_open(session, regions, week, category, places),
    )


def _load(session: Session, regions: set[int], week: Week) -> tuple[list[_Report], dict[int, Case]]:
    """Reports of the five weeks, and the main case of each (loaded when outside the window)."""
    begin = week.start(HISTORY_WEEKS)
    stmt = (
        select(Case)
        .where(Case.region_id.in_(regions), Case.created_at >= begin, Case.created_at < week.end)
        .order_by(Case.id)
    )
    cases = list(session.scalars(stmt))
    mains: dict[int, Case] = {c.id: c for c in cases if c.status != Status.MERGED}
    wanted = {c.merged_into_id for c in cases if c.status == Status.MERGED and c.merged_into_id}
    missing = wanted - set(mains)
    if missing:
        mains.update({c.id: c for c in session.scalars(select(Case).where(Case.id.in_(missing)))})
    reports = []
    for c in cases:
        merged = c.status == Status.MERGED and c.merged_into_id in mains
        if not merged:
            mains.setdefault(c.id, c)  # a merged row whose main is gone counts as its own case
        reports.append(
            _Report(
                id=c.id,
                constituent_id=c.constituent_id,
                merged=merged,
                group=c.merged_into_id if merged and c.merged_into_id else c.id,
                week_index=(c.created_at - begin) // timedelta(weeks=1),
                recurrence_of=c.recurrence_of_id,
            )
        )
    return reports, mains


def _rows(reports: list[_Report], key_of: dict[int, str]) -> tuple[Row, ...]:
    """Per key: this week's cases and reporters, and the previous weeks' cases."""
    cases: dict[str, list[int]] = defaultdict(lambda: [0] * (HISTORY_WEEKS + 1))
    people: dict[str, set[int]] = defaultdict(set)
    for r in reports:
        key = key_of[r.group]
        counts = cases[key]
        if not r.merged:
            counts[r.week_index] += 1
        if r.week_index == HISTORY_WEEKS:
            people[key].add(r.constituent_id)
    rows = [
        Row(key, counts[HISTORY_WEEKS], len(people[key]), tuple(counts[:HISTORY_WEEKS]))
        for key, counts in cases.items()
        if counts[HISTORY_WEEKS] or people[key]
    ]
    rows.sort(key=lambda row: (-row.cases, -row.reporters, row.key))
    return tuple(rows)


def _place_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = select(Place.id, Place.name, Region.name).join(Region, Region.id == Place.region_id)
    return {
        i: f"{region}·{name}" for i, name, region in session.execute(stmt.where(Place.id.in_(ids)))
    }


def _top_open(
    session: Session,
    regions: set[int],
    week: Week,
    category: dict[int, str],
    places: dict[int, str],
) -> tuple[Group, ...]:
    """The biggest groups still open at the week's end, by distinct reporters, then reports."""
    end = week.end
    open_stmt = select(Case).where(
        Case.region_id.in_(regions),
        Case.created_at < end,
        Case.status != Status.MERGED.value,
        or_(Case.closed_at.is_(None), Case.closed_at >= end),
    )
    mains = {c.id: c for c in session.scalars(open_stmt)}
    if not mains:
        return ()
    cosign_stmt = select(Case.merged_into_id, Case.constituent_id).where(
        Case.merged_into_id.in_(mains),
        Case.status == Status.MERGED.value,
        Case.created_at < end,
    )
    people: dict[int, set[int]] = {i: {c.constituent_id} for i, c in mains.items()}
    reports: dict[int, int] = dict.fromkeys(mains, 1)
    for main_id, constituent_id in session.execute(cosign_stmt):
        if main_id is None:
            continue
        people[main_id].add(constituent_id)
        reports[main_id] += 1
    ranked = sorted(mains, key=lambda i: (-len(people[i]), -reports[i], i))[:TOP_GROUPS]
    missing = {mains[i].place_id for i in ranked if mains[i].place_id} - set(places)
    names = places | _place_names(session, {p for p in missing if p})
    return tuple(
        Group(
            case_id=i,
            category=category.get(i) or _category(mains[i]),
            place=names.get(mains[i].place_id or 0, NO_PLACE),
            reporters=len(people[i]),
            reports=reports[i],
            quote=_quote(mains[i].text),
        )
        for i in ranked
    )


def _category(case: Case) -> str:
    """The case's category as the deployment names it now (old names of renamed ones map to the
    new name; a removed one keeps its name, marked 已停用)."""
    return active().label(case.category) if case.category else NO_CATEGORY


def _quote(text: str) -> str:
    """The main case's words, personal data masked, cut to QUOTE_CHARS."""
    masked = " ".join(mask_text(text or "").split())
    return masked if len(masked) <= QUOTE_CHARS else masked[:QUOTE_CHARS] + "…"
