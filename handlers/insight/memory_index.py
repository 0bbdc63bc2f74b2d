"""An in-memory CaseIndex: the batch's stand-in for the cases table, with the same retrieval."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import timedelta

from handlers.insight.similar import Candidate, Features, Settings

CELL_DEG = 0.002  # ~200 m grid cells; a point's own and neighbouring cells cover near_m


def cell(lat: float, lng: float) -> tuple[int, int]:
    """The grid cell of a point."""
    return int(lat // CELL_DEG), int(lng // CELL_DEG)


@dataclass
class _Entry:
    case_id: int
    root_id: int
    features: Features


@dataclass
class MemoryIndex:
    """Cases by place, by grid cell and by time; groups by their main case."""

    by_place: dict[int, list[_Entry]] = field(default_factory=dict)
    by_cell: dict[tuple[int, int], list[_Entry]] = field(default_factory=dict)
    unplaced: list[_Entry] = field(default_factory=list)  # neither place nor location, by time
    root_at: dict[int, Features] = field(default_factory=dict)
    reporters: dict[int, int] = field(default_factory=dict)
    group_objects: dict[int, set[str]] = field(default_factory=dict)

    def add(self, case_id: int, root_id: int, feats: Features) -> None:
        """Remember a processed case (root_id == case_id for the first of a group)."""
        entry = _Entry(case_id, root_id, feats)
        for place in feats.places:
            self.by_place.setdefault(place, []).append(entry)
        if feats.lat is not None and feats.lng is not None:
            self.by_cell.setdefault(cell(feats.lat, feats.lng), []).append(entry)
        if not feats.places and feats.lat is None:
            self.unplaced.append(entry)
        if root_id == case_id:
            self.root_at[root_id] = feats
        self.reporters[root_id] = self.reporters.get(root_id, 0) + 1
        group = self.group_objects.setdefault(root_id, set())
        if feats.places:  # as the SQL index knows them: from case_places rows
            group.update(feats.objects)

    def candidates(self, new: Features, cfg: Settings) -> list[Candidate]:
        """Same place or nearby within the recurrence window; anything recent if unplaced."""
        since = new.at - timedelta(days=cfg.recurrence_days)
        found: dict[int, _Entry] = {}
        for place in new.nearby if new.objects else ():
            for e in self.by_place.get(place, ()):
                if e.features.objects & new.objects:
                    found[e.case_id] = e
        for place in new.places:
            for e in self.by_place.get(place, ()):
                found[e.case_id] = e
        if new.lat is not None and new.lng is not None:
            y, x = cell(new.lat, new.lng)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    for e in self.by_cell.get((y + dy, x + dx), ()):
                        found[e.case_id] = e
        recent = new.at - timedelta(days=cfg.episode_days)
        pool = self.unplaced
        start = bisect.bisect_left([e.features.at for e in pool], recent)
        for e in pool[start:]:
            found[e.case_id] = e
        if not new.places and new.lat is None:
            for entries in self.by_place.values():
                for e in entries:
                    if e.features.at >= recent:
                        found[e.case_id] = e
        return [
            Candidate(
                case_id=e.case_id,
                root_id=e.root_id,
                root_at=self.root_at[e.root_id].at,
                features=e.features,
                reporters=self.reporters[e.root_id],
                group_objects=frozenset(self.group_objects[e.root_id]),
            )
            for e in found.values()
            if e.features.at >= since
        ]
