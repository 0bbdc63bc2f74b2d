"""A statistics report: the figures of a region for a window, overall and by one grouping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import queries
from handlers.insight.category_set import active
from handlers.stats.definitions import (
    DEFINITIONS,
    GROUPINGS,
    NO_GROUP_LABELS,
    SMALL_SAMPLE,
    SMALL_SAMPLE_NOTE,
    SOURCE_LABELS,
    WORKING_HOURS_NOTE,
)
from handlers.stats.figures import Figure, HoursCache, compute
from handlers.stats.rows import CaseRow, RatingRow, cases_by_id, load_cases, load_ratings
from handlers.stats.window import Window, local_week
from handlers.workcal import WorkCalendar
from storage.models import Case, Deputy, Region, Station


class UnknownRegion(LookupError):
    """The region code is not in the directory; `valid` lists the codes that are."""

    def __init__(self, code: str, valid: list[str]) -> None:
        super().__init__(f"unknown region {code!r}")
        self.code = code
        self.valid = valid


@dataclass(frozen=True)
class Group:
    """The figures of one group (a station, a deputy, a category …)."""

    key: str
    label: str
    figures: dict[str, Figure]
    small_sample: bool = False

    def as_dict(self) -> dict[str, object]:
        """JSON form."""
        out: dict[str, object] = {
            "key": self.key,
            "label": self.label,
            "figures": {k: f.as_dict() for k, f in self.figures.items()},
        }
        if self.small_sample:
            out["small_sample"] = True
            out["note"] = SMALL_SAMPLE_NOTE
        return out


@dataclass(frozen=True)
class StatsReport:
    """Everything `lianxin stats`, the workbench and the exports publish for one query."""

    region_code: str | None
    region_name: str
    window: Window
    by: str | None
    totals: dict[str, Figure]
    groups: list[Group] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON form, with the window and the definition of every figure."""
        return {
            "region": {"code": self.region_code, "name": self.region_name},
            "window": {
                "from": self.window.first.isoformat(),
                "to": self.window.last.isoformat(),
                "timezone": self.window.tz.key,
            },
            "by": self.by,
            "totals": {k: f.as_dict() for k, f in self.totals.items()},
            "groups": [g.as_dict() for g in self.groups],
            "definitions": {
                k: {"label": d.label, "formula": d.formula, "unit": d.unit}
                for k, d in DEFINITIONS.items()
            },
            "notes": self.notes(),
        }

    def notes(self) -> list[str]:
        """What a reader must know to read the figures right."""
        return [WORKING_HOURS_NOTE, f"分组统计中少于{SMALL_SAMPLE}件的组标注为小样本"]


def resolve_region(session: Session, code: str | None) -> Region | None:
    """The region of `code` (None = the whole directory); unknown codes raise UnknownRegion."""
    if code is None:
        return None
    region = session.scalars(select(Region).where(Region.code == code)).first()
    if region is None:
        valid = list(session.scalars(select(Region.code).order_by(Region.code)))
        raise UnknownRegion(code, valid)
    return region


def build_report(
    session: Session,
    *,
    region_code: str | None,
    window: Window,
    calendar: WorkCalendar,
    by: str | None = None,
    station_ids: frozenset[int] | None = None,
) -> StatsReport:
    """Compute the report; `by` is one of GROUPINGS or None for totals only.

    `station_ids` narrows the report to those stations (a station's staff, a deputy).
    """
    reports = build_reports(
        session,
        region_code=region_code,
        window=window,
        calendar=calendar,
        groupings=(by,),
        station_ids=station_ids,
    )
    return reports[by]


def build_reports(
    session: Session,
    *,
    region_code: str | None,
    window: Window,
    calendar: WorkCalendar,
    groupings: Sequence[str | None],
    station_ids: frozenset[int] | None = None,
) -> dict[str | None, StatsReport]:
    """Several groupings of one report from one load (a page with several charts)."""
    for by in groupings:
        if by is not None and by not in GROUPINGS:
            raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")
    region = resolve_region(session, region_code)
    subtree = queries.region_subtree_ids(session, region.id) if region is not None else None
    cases = load_cases(session, subtree, window, station_ids)
    ratings = load_ratings(session, None, window)
    by_id = {c.id: c for c in cases}
    missing = {r.case_id for r in ratings} - set(by_id)
    if missing:  # rated in the window, opened before it
        by_id.update(cases_by_id(session, missing))
    ratings = [
        r for r in ratings if r.case_id in by_id and _inside(by_id[r.case_id], subtree, station_ids)
    ]
    cases_all = list(by_id.values())
    hours = HoursCache(calendar)
    totals = compute(cases, ratings, window, hours)
    name = region.name if region is not None else "全部地区"
    return {
        by: StatsReport(
            region_code,
            name,
            window,
            by,
            totals,
            _groups(session, by, region, cases_all, cases, ratings, window, hours),
        )
        for by in groupings
    }


def _inside(case: CaseRow, subtree: set[int] | None, station_ids: frozenset[int] | None) -> bool:
    if subtree is not None and case.region_id not in subtree:
        return False
    return station_ids is None or case.station_id in station_ids


def _groups(
    session: Session,
    by: str | None,
    region: Region | None,
    case_index: list[CaseRow],
    cases: list[CaseRow],
    ratings: list[RatingRow],
    window: Window,
    calendar: HoursCache,
) -> list[Group]:
    if by is None:
        return []
    key_of = _key_function(session, by, region, window)
    by_id = {c.id: c for c in case_index}
    case_groups: dict[str, list[CaseRow]] = defaultdict(list)
    rating_groups: dict[str, list[RatingRow]] = defaultdict(list)
    for c in cases:
        case_groups[key_of(c)].append(c)
    for r in ratings:
        rating_groups[key_of(by_id[r.case_id])].append(r)
    labels = _labels(session, by)
    out = []
    for key in sorted(set(case_groups) | set(rating_groups)):
        figures = compute(case_groups[key], rating_groups[key], window, calendar)
        collected = figures["collected"].value or 0
        label = labels.get(key) or (NO_GROUP_LABELS[by] if key == "" else key)
        out.append(Group(key, label, figures, small_sample=int(collected) < SMALL_SAMPLE))
    return out


def _key_function(
    session: Session, by: str, region: Region | None, window: Window
) -> Callable[[CaseRow], str]:
    if by == "station":
        return lambda c: str(c.station_id or "")
    if by == "deputy":
        return lambda c: str(c.deputy_id or "")
    if by == "category":
        cats = active()  # a renamed category's old name counts under its new one
        return lambda c: cats.canonical(c.category) or ""
    if by == "source":
        return lambda c: c.source or ""
    if by == "week":
        return lambda c: local_week(c.created_at, window.tz)
    child_of = _child_regions(session, region)
    return lambda c: str(child_of.get(c.region_id, "")) if c.region_id is not None else ""


def _child_regions(session: Session, region: Region | None) -> dict[int, int]:
    """Map every region id to the child of `region` (or root) it lies under."""
    parent = {r.id: r.parent_id for r in session.scalars(select(Region))}
    top = region.id if region is not None else None
    out: dict[int, int] = {}
    for rid in parent:
        node: int | None = rid
        while node is not None and parent.get(node) != top:
            node = parent.get(node)
        if node is not None:
            out[rid] = node
    return out


def _labels(session: Session, by: str) -> dict[str, str]:
    if by == "station":
        return {str(s.id): s.name for s in session.scalars(select(Station))}
    if by == "deputy":
        return {str(d.id): d.name for d in session.scalars(select(Deputy))}
    if by == "region":
        return {str(r.id): r.name for r in session.scalars(select(Region))}
    if by == "source":
        return dict(SOURCE_LABELS)
    if by == "category":  # a category this deployment removed still shows, marked 已停用
        return _category_labels(session)
    return {}


def _category_labels(session: Session) -> dict[str, str]:
    cats = active()
    stored = session.scalars(select(Case.category).where(Case.category.is_not(None)).distinct())
    return {cats.canonical(s) or s: cats.label(s) for s in stored if s}
