"""Every figure of one group of cases, with numerator and denominator, from SQL aggregates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from handlers.stats.aggregate import HOUR_KINDS, Counts, Ranked, RatingCounts
from handlers.stats.definitions import DEFINITIONS


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


def _hours(key: str, ranked: Ranked | None) -> tuple[Figure, Figure]:
    if ranked is None or not ranked.n:
        return Figure(f"{key}_median", None, count=0), Figure(f"{key}_p90", None, count=0)
    n, at = ranked.n, ranked.by_rank
    # the usual median (mean of the two middle values for an even count), as statistics.median
    middle = at[n // 2 + 1] if n % 2 else (at[n // 2] + at[n // 2 + 1]) / 2
    return (
        Figure(f"{key}_median", round(middle, 2), count=n),
        Figure(f"{key}_p90", round(at[math.ceil(0.9 * n)], 2), count=n),
    )


def assemble(
    counts: Counts, ratings: RatingCounts, hours: Mapping[str, Ranked | None] | None
) -> dict[str, Figure]:
    """Every figure of definitions.FIGURE_KEYS for one group (no hours when `hours` is None)."""
    figures = [
        Figure("collected", counts.collected),
        Figure("co_signers", counts.co_signers),
        Figure("answered", counts.answered),
        _rate("timely_answer_rate", counts.timely, counts.due_or_answered),
        _rate("satisfaction_rate", ratings.satisfied, ratings.rated),
        Figure("unrated", ratings.unrated),
        _rate("closed_rate", counts.closed, counts.collected),
        Figure("rejected", counts.rejected),
        Figure("reworked", counts.reworked),
    ]
    for kind in HOUR_KINDS if hours is not None else ():
        figures.extend(_hours(f"hours_to_{kind}", hours.get(kind)))  # type: ignore[union-attr]
    return {f.key: f for f in figures}
