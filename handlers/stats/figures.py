"""Compute every figure of one group of cases, with numerator and denominator."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from handlers.stats.clock import WorkClock
from handlers.stats.definitions import DEFINITIONS
from handlers.stats.rows import CaseRow, RatingRow
from handlers.stats.window import Window
from handlers.workcal import WorkCalendar

CLOSED_STATUSES = frozenset({"closed", "expired"})
SATISFIED = frozenset({"satisfied", "basic"})
RATED = frozenset({"satisfied", "basic", "unsatisfied"})


@dataclass(frozen=True)
class Figure:
    """A published number; rates carry the numerator and denominator they come from."""

    key: str
    value: float | int | None
    numerator: int | None = None
    denominator: int | None = None
    count: int | None = None  # how many cases a median / percentile is taken over

    def as_dict(self) -> dict[str, object]:
        """JSON form: value plus whatever explains it, and the formula."""
        out: dict[str, object] = {"value": self.value}
        if self.numerator is not None:
            out["numerator"] = self.numerator
            out["denominator"] = self.denominator
        if self.count is not None:
            out["count"] = self.count
        out["formula"] = DEFINITIONS[self.key].formula
        return out


def _rate(key: str, numerator: int, denominator: int) -> Figure:
    value = round(numerator / denominator, 4) if denominator else None
    return Figure(key, value, numerator, denominator)


def p90(values: Sequence[float]) -> float:
    """The 90th percentile by the nearest-rank method (an actual observed value)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _hours(key: str, values: list[float]) -> tuple[Figure, Figure]:
    if not values:
        return Figure(f"{key}_median", None, count=0), Figure(f"{key}_p90", None, count=0)
    return (
        Figure(f"{key}_median", round(median(values), 2), count=len(values)),
        Figure(f"{key}_p90", round(p90(values), 2), count=len(values)),
    )


class HoursCache:
    """Working hours between two instants, computed once per pair for a whole report."""

    def __init__(self, cal: WorkCalendar) -> None:
        self.cal = cal
        self._clock: WorkClock | None = None
        self._seen: dict[tuple[datetime, datetime], float] = {}

    def between(self, start: datetime, stop: datetime | None, w: Window) -> float | None:
        """Working hours from `start` to `stop`; None when `stop` is missing or after the window."""
        if stop is None or stop >= w.end or stop < start:
            return None
        key = (start, stop)
        seen = self._seen.get(key)
        if seen is not None:  # the same case in another grouping of the report
            return seen
        first = start.astimezone(self.cal.hours.tz).date()
        if self._clock is None or first < self._clock.anchor:
            # anchored a year early so every case of a report shares one clock
            self._clock = WorkClock(self.cal, first - timedelta(days=366))
        self._seen[key] = hours = self._clock.between(start, stop) / 3600
        return hours


def compute(
    cases: Iterable[CaseRow],
    ratings: Iterable[RatingRow],
    window: Window,
    hours: HoursCache,
) -> dict[str, Figure]:
    """Every figure of definitions.FIGURE_KEYS for one group, as of the window's end."""
    cases = list(cases)
    opened = [c for c in cases if window.contains(c.created_at)]
    collected = [c for c in opened if c.status != "merged"]
    co_signers = [c for c in opened if c.status == "merged"]
    answered = [c for c in collected if c.first_answered_at and c.first_answered_at < window.end]
    due_or_answered = [
        c
        for c in cases
        if c.status != "merged"
        and c.answer_due_at is not None
        and (window.contains(c.answer_due_at) or window.contains(c.first_answered_at))
    ]
    timely = [
        c
        for c in due_or_answered
        if c.first_answered_at is not None
        and c.answer_due_at is not None
        and c.first_answered_at <= c.answer_due_at
    ]
    ratings = list(ratings)
    rated = [r for r in ratings if r.value in RATED]
    closed = [
        c
        for c in collected
        if c.status in CLOSED_STATUSES and c.closed_at and c.closed_at < window.end
    ]
    rejected = [c for c in collected if c.status == "rejected"]
    figures = [
        Figure("collected", len(collected)),
        Figure("co_signers", len(co_signers)),
        Figure("answered", len(answered)),
        _rate("timely_answer_rate", len(timely), len(due_or_answered)),
        _rate("satisfaction_rate", sum(r.value in SATISFIED for r in rated), len(rated)),
        Figure("unrated", sum(r.value == "unrated" for r in ratings)),
        _rate("closed_rate", len(closed), len(collected)),
        Figure("rejected", len(rejected)),
        Figure("reworked", sum(c.rework_count > 0 for c in collected)),
    ]
    for key, attr, pool in (
        ("hours_to_claim", "claimed_at", collected),
        ("hours_to_answer", "first_answered_at", collected),
        ("hours_to_close", "closed_at", closed),
    ):
        values = [
            h
            for c in pool
            if (h := hours.between(c.created_at, getattr(c, attr), window)) is not None
        ]
        figures.extend(_hours(key, values))
    return {f.key: f for f in figures}
