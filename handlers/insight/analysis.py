"""One message through the insight steps: normalise, place, category, features, match.

Intake (`handlers.insight.annotate_case`) and the batch (`cluster.py`) both call `analyse`
and `decide`; they differ only in the index that supplies earlier cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from handlers.insight.category import Categorised, categorise
from handlers.insight.normalise import normalise
from handlers.insight.places import Gazetteer, Resolution
from handlers.insight.similar import Candidate, Features, Match, Settings, best_match, features


@dataclass(frozen=True)
class Analysis:
    """What insight knows about one message before comparing it."""

    normalised: str
    resolution: Resolution
    category: Categorised
    features: Features


class CaseIndex(Protocol):
    """Earlier cases that could be the same as a new one (by place, location or window)."""

    def candidates(self, new: Features, cfg: Settings) -> list[Candidate]:
        """Candidates for `new`; a superset of what `best_match` may accept."""
        ...


def analyse(
    gazetteer: Gazetteer,
    text: str,
    at: datetime,
    lat: float | None = None,
    lng: float | None = None,
    plate: str | None = None,
    station_text: str | None = None,
) -> Analysis:
    """Place, category and matching features of one message."""
    clean = normalise(text)
    resolution = gazetteer.resolve(clean, lat, lng, plate, station_text)
    cat = categorise(text)
    feats = features(clean, resolution, at, lat, lng, cat.category, cat.confidence, cat.scores)
    return Analysis(clean, resolution, cat, feats)


def decide(index: CaseIndex, analysis: Analysis, cfg: Settings) -> Match | None:
    """The best earlier case for this message (same case or recurrence), if any."""
    return best_match(analysis.features, index.candidates(analysis.features, cfg), cfg)
