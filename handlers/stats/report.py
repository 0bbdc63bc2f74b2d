"""A statistics report: the figures of a region for a window, overall and by one grouping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from handlers import queries
from handlers.insight.category_set import active
from handlers.stats import aggregate
from handlers.stats.aggregate import HOUR_KINDS, Key, Scope
from handlers.stats.definitions import (
    DEFINITIONS,
    GROUPINGS,
    NO_GROUP_LABELS,
    SMALL_SAMPLE,
    SMALL_SAMPLE_NOTE,
    SOURCE_LABELS,
    WORKING_HOURS_NOTE,
)
from handlers.stats.figures import Figure, assemble
from handlers.stats.rowset import R, report_rows
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
    charts_only: bool = False,
) -> dict[str | None, StatsReport]:
    """Several groupings of one report (a page with several charts), each counted in SQL.

    `charts_only=True` gives the groups (not the totals) only their `collected` figure, for a
    page that charts the groups' counts: one sum per group instead of every figure.
    """
    for by in groupings:
        if by is not None and by not in GROUPINGS:
            raise ValueError(f"unknown grouping {by!r}; choose one of {', '.join(GROUPINGS)}")
    region = resolve_region(session, region_code)
    subtree = queries.region_subtree_ids(session, region.id) if region is not None else None
    scope = Scope(frozenset(subtree) if subtree is not None else None, station_ids)
    name = region.name if region is not None else "全部地区"
    with report_rows(session, scope.where(), window, calendar):
        totals = _figures(session, window, None, hours=True)[None]
        return {
            by: StatsReport(
                region_code,
                name,
                window,
                by,
                totals,
                _groups(session, by, region, window, charts_only),
            )
            for by in groupings
        }


# one group for every case, without a constant in GROUP BY (PostgreSQL refuses those)
_ONE_GROUP = R.c.id.is_(None)


def _figures(
    session: Session, window: Window, key: Key, *, hours: bool
) -> dict[Any, dict[str, Figure]]:
    """The figures of every value of `key` that has a case or a rating in the report."""
    counts = aggregate.counts(session, window, key)
    ranked = aggregate.ranked_hours(session, window, key) if hours else {}
    return {
        k: assemble(
            cases,
            ratings,
            {kind: ranked.get((k, kind)) for kind in HOUR_KINDS} if hours else None,
        )
        for k, (cases, ratings) in counts.items()
    }


def _groups(
    session: Session, by: str | None, region: Region | None, window: Window, charts_only: bool
) -> list[Group]:
    if by is None:
        return []
    key = _key_expression(session, by, region, window)
    grouped = key if key is not None else _ONE_GROUP
    found = (
        {
            k: {"collected": Figure("collected", n)}
            for k, n in aggregate.collected_counts(session, window, grouped).items()
        }
        if charts_only
        else _figures(session, window, grouped, hours=True)
    )
    by_key = {("" if k is None or key is None else str(k)): f for k, f in found.items()}
    labels = _labels(session, by, R.c.category)
    out = []
    for key_text in sorted(by_key):
        figures = by_key[key_text]
        collected_n = figures["collected"].value or 0
        label = labels.get(key_text) or (NO_GROUP_LABELS[by] if key_text == "" else key_text)
        out.append(Group(key_text, label, figures, small_sample=int(collected_n) < SMALL_SAMPLE))
    return out


def _key_expression(
    session: Session, by: str, region: Region | None, window: Window
) -> ColumnElement[Any] | None:
    """What a grouping groups by, in SQL (its values as text are the keys); None: all in ""."""
    if by == "station":
        return R.c.station_id
    if by == "deputy":
        return R.c.deputy_id
    if by == "category":
        return _category_expression()
    if by == "source":
        return func.coalesce(R.c.source, "")
    if by == "week":
        return _week_expression(session, window)
    members: dict[int, list[int]] = defaultdict(list)
    for rid, child in _child_regions(session, region).items():
        members[child].append(rid)
    if not members:
        return None
    return sql_case(*((R.c.region_id.in_(ids), child) for child, ids in sorted(members.items())))


def _category_expression() -> ColumnElement[Any]:
    """The current name of each case's category: a renamed category's old names count under
    its new one (a removed category keeps its own name)."""
    stored = func.coalesce(R.c.category, "")
    renamed = [(R.c.category.in_(sorted(c.was)), c.name) for c in active().categories if c.was]
    return sql_case(*renamed, else_=stored) if renamed else stored


def _week_expression(session: Session, window: Window) -> ColumnElement[Any] | None:
    """The local ISO week of opening (as 2026-W48) of every case the report reads, as a CASE."""
    first, last = session.execute(select(func.min(R.c.created_at), func.max(R.c.created_at))).one()
    if first is None:
        return None
    tz = window.tz
    monday = first.astimezone(tz).date()
    monday -= timedelta(days=monday.weekday())
    stop = last.astimezone(tz).date()
    branches = []
    while monday <= stop:
        begins = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
        monday += timedelta(days=7)
        ends = datetime.combine(monday, time(0), tzinfo=tz).astimezone(UTC)
        branches.append((R.c.created_at < ends, local_week(begins, tz)))
    return sql_case(*branches)


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


def _labels(session: Session, by: str, stored: Any = None) -> dict[str, str]:
    """Each group key's label; `stored` is the column the categories are read from (a report
    reads its own rows' categories, which its keys come from; None: every case's)."""
    if by == "station":
        return {str(s.id): s.name for s in session.scalars(select(Station))}
    if by == "deputy":
        return {str(d.id): d.name for d in session.scalars(select(Deputy))}
    if by == "region":
        return {str(r.id): r.name for r in session.scalars(select(Region))}
    if by == "source":
        return dict(SOURCE_LABELS)
    if by == "category":  # a category this deployment removed still shows, marked 已停用
        return _category_labels(session, Case.category if stored is None else stored)
    return {}


def _category_labels(session: Session, column: Any) -> dict[str, str]:
    cats = active()
    stored = session.scalars(select(column).where(column.is_not(None)).distinct())
    return {cats.canonical(s) or s: cats.label(s) for s in stored if s}
