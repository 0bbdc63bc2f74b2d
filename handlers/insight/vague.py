"""Places named loosely: a kind of place (我们小区, 村口, 镇上卫生院), a region (塘湾那边), or a
place beside a named one (江滨公园边上那条马路, 幸福里门口那个路口).

Rules in `data/places.yaml` (`vague`, `relations`, `relation_targets`); nothing here is
specific to one county. `hints` narrows which gazetteer places an unresolved message can be
about; `beside` finds the road or square that a message places by a landmark or an estate.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.insight.data_files import load_yaml
from handlers.insight.places import PlaceInfo, distance_m

BESIDE_M = 500.0  # a road or square placed by a landmark is this close to its point at most
BESIDE_RATIO = 1.5  # and clearly the nearest of its kind: the next is this much farther


@dataclass(frozen=True)
class _Kind:
    """What a vague word fits: places of these kinds or with a name ending so."""

    kinds: frozenset[str]
    suffixes: tuple[str, ...]


@functools.cache
def _rules() -> tuple[re.Pattern[str], dict[str, _Kind], re.Pattern[str], dict[str, _Kind]]:
    """Kind words, their kinds, the 'beside' pattern and its targets."""
    data = load_yaml("places.yaml")

    def kinds(table: dict[str, dict[str, list[str]]]) -> dict[str, _Kind]:
        return {
            str(word): _Kind(frozenset(spec.get("kinds", ())), tuple(spec.get("suffixes", ())))
            for word, spec in table.items()
        }

    vague = kinds(data["vague"])
    targets = kinds(data["relation_targets"])
    words, aims = _alternatives(vague), _alternatives(targets)
    relations, fillers = _alternatives(data["relations"]), _alternatives(data["relation_fillers"])
    # 「江滨公园走走 边上那条马路」: up to three characters between the place and the relation;
    # a bare 路 followed by 灯 is a street lamp (门口路灯), not a road
    beside = re.compile(
        rf"^.{{0,3}}?(?P<rel>{relations})(?:{fillers})?[\u4e00-\u9fff]{{0,2}}?"
        rf"(?P<aim>{aims})(?!(?<=[^马公大]路)灯)"
    )
    return re.compile(words), vague, beside, targets


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first."""
    return "|".join(re.escape(str(w)) for w in sorted(words, key=len, reverse=True))


def _fits(place: PlaceInfo, kind: _Kind, variants: Iterable[str]) -> bool:
    return place.kind in kind.kinds or any(v.endswith(kind.suffixes) for v in variants)


class VagueIndex:
    """The gazetteer's places by kind and region, for loosely named places."""

    def __init__(
        self,
        places: dict[int, PlaceInfo],
        variants: dict[int, list[str]],
        region_names: dict[str, str],
        region_parents: dict[str, str | None],
    ) -> None:
        self.places = places
        self.variants = variants
        self._by_kind: dict[_Kind, frozenset[int]] = {}
        # every region's places, its descendants' included (塘湾社区 → 塘湾新村, 塘湾幼儿园)
        within: dict[str, set[int]] = {}
        for place in places.values():
            code, seen = place.region, set()
            while code is not None and code not in seen:
                seen.add(code)
                within.setdefault(code, set()).add(place.id)
                code = region_parents.get(code)
        self._region_places: dict[str, frozenset[int]] = {}
        for code, name in region_names.items():
            short = re.sub(r"(社区|街道|村|镇|乡|县|市|区)$", "", name)
            for n in {name, short}:
                if len(n) >= 2 and code in within:
                    ids = self._region_places.get(n, frozenset()) | within[code]
                    self._region_places[n] = frozenset(ids)
        names = sorted(self._region_places, key=len, reverse=True)
        self._regions = re.compile("|".join(re.escape(n) for n in names)) if names else None

    def _kind_places(self, kind: _Kind) -> frozenset[int]:
        if kind not in self._by_kind:  # once per word and gazetteer, not per message
            self._by_kind[kind] = frozenset(
                p.id for p in self.places.values() if _fits(p, kind, self.variants.get(p.id, ()))
            )
        return self._by_kind[kind]

    def hints(self, text: str) -> tuple[frozenset[int], bool]:
        """Places an unresolved message may be about, and whether both a region and a kind
        word narrowed them (then a single place left is the place: 塘湾那边的幼儿园).

        Each clue (a region's name; kind words such as 小区, 村口, 卫生院) is the set of places it
        fits; the hint is their intersection, a clue that would leave nothing being skipped
        (小区门口的马路: the estate and a road). Empty: no clue.
        """
        pattern, vague, _, _ = _rules()
        clues: list[tuple[frozenset[int], str]] = []
        if self._regions is not None:
            regions = {m.group(0) for m in self._regions.finditer(text)}
            if regions:
                ids = frozenset().union(*(self._region_places[r] for r in regions))
                clues.append((ids, "region"))
        for word in dict.fromkeys(m.group(0) for m in pattern.finditer(text)):
            clues.append((self._kind_places(vague[word]), "kind"))
        hint: frozenset[int] | None = None
        used: set[str] = set()
        for ids, clue in clues:
            narrowed = ids if hint is None else hint & ids
            if narrowed:
                hint = narrowed
                used.add(clue)
        return hint or frozenset(), used == {"region", "kind"}

    def beside(self, text: str, anchor: int, end: int) -> tuple[int, bool] | None:
        """The road or square a message places by `anchor` (named just before `end` in text),
        and whether it, not the anchor, is the place complained about.

        「幸福里门口那个路口」: the nearest road to 幸福里, when it is within BESIDE_M and clearly
        the nearest (the next road BESIDE_RATIO times farther); 「二中门口的路」 stays at 二中.
        """
        _, _, beside, targets = _rules()
        found = beside.match(text[end : end + 16])
        place = self.places[anchor]
        if found is None or place.lat is None or place.lng is None:
            return None
        aim = targets[found.group("aim")]
        if _fits(place, aim, self.variants.get(anchor, ())):
            return None  # 文昌路口那段路: already the road
        ranked = sorted(
            (distance_m(place.lat, place.lng, q.lat, q.lng), q.id)
            for q in self.places.values()
            if q.id != anchor
            and q.lat is not None
            and q.lng is not None
            and _fits(q, aim, self.variants.get(q.id, ()))
        )
        if not ranked or ranked[0][0] > BESIDE_M:
            return None
        if len(ranked) > 1 and ranked[1][0] < BESIDE_RATIO * ranked[0][0]:
            return None
        data = load_yaml("places.yaml")
        at_gate = found.group("rel") in data["relations_at"]
        own = found.group("aim") in data["places_of_their_own"]
        if at_gate and not own and place.kind in ("estate", "village"):
            return None  # 小区门口的路: the estate's own gate; estates are never adjacent
        return ranked[0][1], not at_gate or own
