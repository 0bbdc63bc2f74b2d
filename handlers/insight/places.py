"""The gazetteer: place names with the variants residents use, found in text or near a point.

`Gazetteer.resolve` answers "which place does this message complain about": a place named in
the text that is not the writer's home (「我住X」), else the nearest place to the shared
location within `NEAR_M`, else the door plate or the station of the scanned QR code.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from handlers.insight.data_files import load_yaml
from handlers.insight.normalise import normalise

NEAR_M = 150.0  # a shared location this close to a place names it
ADJACENT_M = 150.0  # a landmark this close to a road's point is "on" that road (华联门口的路)
KINDS = ("road", "estate", "village", "landmark")
_REGION_CHARS = "县镇乡市区村社街"
_REGION_SUFFIX = re.compile(r"(社区|街道|村|镇|乡|县|市|区)$")


@dataclass(frozen=True)
class PlaceInfo:
    """One place of the directory, as matching needs it."""

    id: int
    name: str
    kind: str
    region: str | None  # region code
    lat: float | None
    lng: float | None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mention:
    """A place named in the text; `home` when it is where the writer lives."""

    place_id: int
    start: int
    end: int
    home: bool


@dataclass(frozen=True)
class Resolution:
    """The place a message is about, how it was found, and every place it names."""

    place_id: int | None
    how: str  # text | location | plate | station | none
    mentioned: frozenset[int] = field(default_factory=frozenset)
    spans: tuple[tuple[int, int], ...] = ()  # of the normalised text, for removing names
    adjacent: frozenset[int] = field(default_factory=frozenset)  # road ↔ landmark beside it
    # when no place is resolved: the places a loose mention fits (我们小区 → the estates)
    hints: frozenset[int] = field(default_factory=frozenset)


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Metres between two WGS-84 points (equirectangular; fine below a few km)."""
    x = math.radians(lng2 - lng1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000.0 * math.hypot(x, y)


@functools.cache
def _rules() -> tuple[
    list[tuple[re.Pattern[str], list[str]]], frozenset[str], tuple[str, ...], tuple[str, ...]
]:
    data = load_yaml("places.yaml")
    abbreviations = [(re.compile(p), list(r)) for p, r in data["abbreviations"]]
    return (
        abbreviations,
        frozenset(data["generic"]),
        tuple(sorted(data["home_before"], key=len, reverse=True)),
        tuple(sorted(data["home_after"], key=len, reverse=True)),
    )


@functools.cache
def _estate_swaps() -> dict[str, tuple[str, ...]]:
    swaps: dict[str, tuple[str, ...]] = {}
    for group in load_yaml("places.yaml").get("estate_swaps", []):
        for ch in group:
            swaps[ch] = tuple(o for o in group if o != ch)
    return swaps


def _swapped(stem: str) -> list[str]:
    """An estate name with one commonly swapped character changed (金桂苑 → 金桂园)."""
    swaps = _estate_swaps()
    return [stem[:i] + o + stem[i + 1 :] for i, ch in enumerate(stem) for o in swaps.get(ch, ())]


def derive_variants(
    name: str, kind: str, aliases: Iterable[str], prefixes: Iterable[str]
) -> list[str]:
    """The official name, its aliases and the obvious variants, most specific first.

    Variants: without the county/township/community prefix, with or without 小区, a village
    without 村, and common abbreviations (第二中学 → 二中, 农贸市场 → 菜场, ...).
    """
    abbreviations, generic, _, _ = _rules()
    official = [name, *aliases]
    stems = list(official)
    for prefix in sorted(set(prefixes), key=len, reverse=True):
        for stem in list(stems):
            rest = stem[len(prefix) :]
            # 白沙镇卫生院 minus 白沙 leaves 镇卫生院: not a name anyone uses
            if stem.startswith(prefix) and len(rest) >= 3 and rest[0] not in _REGION_CHARS:
                stems.append(rest)
            # 溪口镇中心小学 → 溪口中心小学: the region's short name kept before the rest
            short = _REGION_SUFFIX.sub("", prefix)
            if stem.startswith(prefix) and short != prefix and len(short) >= 2 and len(rest) >= 3:
                stems.append(short + rest)
    stems += [s[1:] for s in stems if s[:1] in "县镇乡市区" and len(s) > 3]
    out: list[str] = []
    for stem in stems:
        out.append(stem)
        for pattern, replacements in abbreviations:
            if pattern.match(stem):
                out += [pattern.sub(r, stem) for r in replacements]
        if kind == "estate" and stem.endswith("小区"):
            out.append(stem[:-2])
        elif kind == "estate" and not stem.endswith(("房", "区", "点", "村")):
            out.append(stem + "小区")
        if kind == "village":
            bare = stem[:-1] if stem.endswith("村") else stem
            out += [bare, bare + "村", bare + "自然村"]
        if kind == "estate":
            out += _swapped(stem)
    seen = dict.fromkeys(v.strip() for v in out)
    return [v for v in seen if v in official or (len(v) >= 2 and v not in generic)]


def region_prefixes(
    region: str | None, names: dict[str, str], parents: dict[str, str | None]
) -> list[str]:
    """Names of `region` and its ancestors, full and short (城关镇, 城关)."""
    found: list[str] = []
    code = region
    seen: set[str] = set()
    while code is not None and code not in seen:
        seen.add(code)
        name = names.get(code)
        if name:
            found.append(name)
            short = _REGION_SUFFIX.sub("", name)
            if len(short) >= 2 and short != name:
                found.append(short)
        code = parents.get(code)
    return found


class Gazetteer:
    """All places of a deployment, with a single pattern that finds any of their variants."""

    def __init__(
        self,
        places: Iterable[PlaceInfo],
        region_names: dict[str, str] | None = None,
        region_parents: dict[str, str | None] | None = None,
    ) -> None:
        self.places = {p.id: p for p in places}
        names, parents = region_names or {}, region_parents or {}
        self.variants: dict[int, list[str]] = {}
        by_variant: dict[str, list[int]] = {}
        for place in self.places.values():
            prefixes = region_prefixes(place.region, names, parents)
            variants = derive_variants(place.name, place.kind, place.aliases, prefixes)
            self.variants[place.id] = variants
            for variant in variants:
                ids = by_variant.setdefault(variant, [])
                if place.id not in ids:
                    # the official name or alias of a place beats another place's derived form
                    official = variant == place.name or variant in place.aliases
                    ids.insert(0 if official else len(ids), place.id)
        # a derived variant two places share names neither (their official names still work)
        for variant, ids in list(by_variant.items()):
            if len(ids) > 1 and not any(
                variant == self.places[i].name or variant in self.places[i].aliases for i in ids
            ):
                del by_variant[variant]
                for i in ids:
                    self.variants[i].remove(variant)
        self.by_variant = by_variant
        # a place name inside a region's name (南湖 in 南湖社区) names the region, not the place
        longer = [n for n in set(names.values()) if len(n) >= 3]
        self._regions = re.compile("|".join(re.escape(n) for n in longer)) if longer else None
        ordered = sorted(by_variant, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None
        self._located = [p for p in self.places.values() if p.lat is not None and p.lng is not None]
        self._beside: dict[int, frozenset[int]] = {}  # place id → adjacent ids, filled on use
        from handlers.insight.vague import VagueIndex  # vague.py reads PlaceInfo from here

        self.vague = VagueIndex(self.places, self.variants, names, parents)

    def mentions(self, text: str) -> list[Mention]:
        """Places named in normalised `text`, in order, longest name first at each position."""
        if self._pattern is None:
            return []
        _, _, before, after = _rules()
        found = []
        regions = (
            [(r.start(), r.end()) for r in self._regions.finditer(text)] if self._regions else []
        )
        for m in self._pattern.finditer(text):
            if any(
                a <= m.start() and m.end() <= b and m.end() - m.start() < b - a for a, b in regions
            ):
                continue
            head = text[max(0, m.start() - 6) : m.start()].replace(" ", "")
            tail = text[m.end() : m.end() + 4]
            home = head.endswith(before) or tail.startswith(after)
            found.append(Mention(self.by_variant[m.group(0)][0], m.start(), m.end(), home))
        return found

    def nearest(
        self,
        lat: float,
        lng: float,
        within_m: float = NEAR_M,
        among: frozenset[int] | None = None,
    ) -> PlaceInfo | None:
        """The place nearest to a point (of `among`, if given), if within `within_m` metres."""
        best, best_d = None, within_m
        for place in self._located:
            if among is not None and place.id not in among:
                continue
            assert place.lat is not None and place.lng is not None
            d = distance_m(lat, lng, place.lat, place.lng)
            if d <= best_d:
                best, best_d = place, d
        return best

    def adjacent(self, named: frozenset[int]) -> frozenset[int]:
        """Landmarks beside a named road and roads beside a named landmark (not estates)."""
        out: set[int] = set()
        for pid in named:
            out |= self._adjacent(pid)
        return frozenset(out - named)

    def _adjacent(self, pid: int) -> frozenset[int]:
        if pid in self._beside:
            return self._beside[pid]
        place = self.places[pid]
        if place.kind not in ("road", "landmark") or place.lat is None or place.lng is None:
            return frozenset()
        other = "landmark" if place.kind == "road" else "road"
        self._beside[pid] = frozenset(
            q.id
            for q in self._located
            if q.kind == other
            and q.lat is not None
            and q.lng is not None
            and distance_m(place.lat, place.lng, q.lat, q.lng) <= ADJACENT_M
        )
        return self._beside[pid]

    def resolve(
        self,
        text: str,
        lat: float | None = None,
        lng: float | None = None,
        plate: str | None = None,
        station_text: str | None = None,
    ) -> Resolution:
        """The place `text` (already normalised) complains about, and how it was found."""
        found = self.mentions(text)
        spans = tuple((m.start, m.end) for m in found)
        complaint = [m for m in found if not m.home]
        # 「我住阳光花园，电梯坏了」: with no other place named, the home is the place
        chosen, beside = self._beside_first(text, complaint or found)
        if chosen:
            said = frozenset(chosen)
            beside_said = (self.adjacent(said) | beside) - said
            return Resolution(chosen[0], "text", said, spans, frozenset(beside_said))
        hints, pinned = self.vague.hints(text)
        if lat is not None and lng is not None:
            # 「我们小区…」 with a location: the nearest estate, before any nearer landmark
            near = (self.nearest(lat, lng, among=hints) if hints else None) or self.nearest(
                lat, lng
            )
            if near is not None:
                return Resolution(near.id, "location", frozenset({near.id}), spans)
        if pinned and len(hints) == 1:
            # 「塘湾那边的幼儿园」: the region and the kind leave one place
            (only,) = hints
            return Resolution(only, "text", hints, spans, self.adjacent(hints))
        for how, extra in (("plate", plate), ("station", station_text)):
            if extra:
                named = [m.place_id for m in self.mentions(normalise(extra))]
                if named:
                    return Resolution(named[0], how, frozenset(named[:1]), spans)
        return Resolution(None, "none", frozenset(), spans, hints=hints)

    def _beside_first(self, text: str, named: list[Mention]) -> tuple[list[int], set[int]]:
        """The complained-about place ids and the places only beside them.

        「江滨公园边上那条马路」 is about the road: the road is the place, the park beside it.
        「二中门口的路」 is at the school's gate: the school stays the place, the road beside it
        (so only the same object on that road matches, as for any adjacent place).
        """
        chosen: list[int] = []
        beside: set[int] = set()
        for a, b in zip(named, named[1:], strict=False):
            if text[a.end : b.start] == "的" and a.place_id != b.place_id:
                # 「文庙的日间照料中心」: the first only says where the second is
                beside.add(a.place_id)
        named = [m for m in named if m.place_id not in beside] or named
        for m in named:
            found = self.vague.beside(text, m.place_id, m.end)
            if found is None:
                if m.place_id not in chosen:
                    chosen.append(m.place_id)
            elif found[1]:
                if found[0] not in chosen:
                    chosen.append(found[0])
                beside.add(m.place_id)
            else:
                if m.place_id not in chosen:
                    chosen.append(m.place_id)
                beside.add(found[0])
        return chosen, beside - set(chosen)
