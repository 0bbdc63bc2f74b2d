"""Is a new message the same case as an earlier one? Same place, same problem, same episode.

insight.md: the same concrete problem (object and fault) at the same named place (or within
about 100 m) within about 10 days of the case's first report. The same problem at the same
place after the episode is a recurrence: a new case linked to the old one.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.insight import pair_model, wording
from handlers.insight.data_files import load_yaml
from handlers.insight.places import Resolution, distance_m

_STOP = re.compile(r"[的了吗呢吧啊呀嘛哦么很太都也还又就是在有我们你他她它这那个一\s\d]")


@dataclass(frozen=True)
class Settings:
    """Matching thresholds (a deployment may change them)."""

    episode_days: float = 10.0
    recurrence_days: float = 365.0
    near_m: float = 100.0
    # same place: the pair model's probability that accepts (None: the model's own, 0.5)
    threshold: float | None = None
    # a report with no place and no location: unplaced_probability that accepts (when only one
    # group is that sure), and the lower one when its loose place (我们小区) fits the other's
    threshold_no_place: float = 0.6
    threshold_hinted: float = 0.55


@dataclass(frozen=True)
class Features:
    """What matching needs of one message, computed once at intake."""

    at: datetime
    places: frozenset[int]
    lat: float | None
    lng: float | None
    objects: frozenset[str]
    faults: frozenset[str]
    grams: frozenset[str]
    category: str | None = None
    words: frozenset[str] = frozenset()  # jieba content words (lexicon-free wording)
    confidence: float | None = None  # of the predicted category
    # places beside the named ones (a landmark on a named road); not stored, see same_place
    nearby: frozenset[int] = frozenset()
    # no place resolved: the places a loose mention fits (我们小区 → the estates); stored
    hints: frozenset[int] = frozenset()
    # the category model's likeliest categories and shares (category.Categorised.scores)
    category_scores: tuple[tuple[str, float], ...] = ()

    @property
    def key(self) -> str:
        """The problem key as stored on the case: objects|faults."""
        return ",".join(sorted(self.objects)) + "|" + ",".join(sorted(self.faults))


@dataclass(frozen=True)
class Candidate:
    """An earlier report: its case, its group's main case and first report, its features."""

    case_id: int
    root_id: int
    root_at: datetime
    features: Features
    reporters: int = 1
    # the objects the group's reports name between them (empty: none, or not known)
    group_objects: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    """The best earlier case: `same` (joins it) or `recurrence` (a new case linked to it)."""

    kind: str  # same | recurrence
    case_id: int  # the main case of the matched group
    score: float
    place: str  # place | near
    days: float  # since the matched case's first report
    reporters: int  # reports in the group, this one included
    reasons: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _compatible() -> frozenset[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    for group in load_yaml("problems.yaml").get("compatible", []):
        pairs.update((a, b) for a in group for b in group)
    return frozenset(pairs)


def _fault_agreement(a: frozenset[str], b: frozenset[str]) -> float:
    """1 shared or compatible faults, 0.5 when a side names none, 0 when they conflict."""
    if not a or not b:
        return 0.5
    if a & b:
        return 1.0
    pairs = _compatible()
    return 0.8 if any((x, y) in pairs for x in a for y in b) else 0.0


@dataclass(frozen=True)
class _Lexicon:
    objects: re.Pattern[str]  # terms longest first, then the patterns
    term_object: dict[str, str]
    patterns: tuple[tuple[re.Pattern[str], str], ...]
    faults: re.Pattern[str]  # terms longest first
    term_faults: dict[str, frozenset[str]]
    false_terms: re.Pattern[str]


@functools.cache
def _lexicon() -> _Lexicon:
    data = load_yaml("problems.yaml")
    term_object = {str(w): k for k, words in data["objects"].items() for w in words}
    patterns = tuple(
        (re.compile(str(p)), k) for k, ps in data.get("object_patterns", {}).items() for p in ps
    )
    # longest term first at each position: 红绿灯坏了 is a signal, not a street lamp (灯坏);
    # the patterns (灯 … 不亮) come last, so a listed term at the same position wins
    ordered = [re.escape(w) for w in sorted(term_object, key=len, reverse=True)]
    objects = re.compile("|".join(ordered + [p.pattern for p, _ in patterns]))
    term_faults: dict[str, set[str]] = {}
    for k, words in data["faults"].items():
        for w in words:
            term_faults.setdefault(str(w), set()).add(k)
    # faults too are read longest term first and without overlap: 电压低 is not 低 (sag)
    faults = re.compile("|".join(re.escape(w) for w in sorted(term_faults, key=len, reverse=True)))
    false = sorted((str(w) for w in data.get("false_terms", [])), key=len, reverse=True)
    return _Lexicon(
        objects=objects,
        term_object=term_object,
        patterns=patterns,
        faults=faults,
        term_faults={k: frozenset(v) for k, v in term_faults.items()},
        false_terms=re.compile("|".join(re.escape(w) for w in false) or "(?!)"),
    )


@functools.cache
def _related() -> frozenset[tuple[str, str]]:
    """Pairs of objects that can name one thing (a village 水沟 and a 下水道)."""
    pairs: set[tuple[str, str]] = set()
    for group in load_yaml("problems.yaml").get("related_objects", []):
        pairs.update((a, b) for a in group for b in group if a != b)
    return frozenset(pairs)


@functools.cache
def _where_objects() -> frozenset[str]:
    return frozenset(str(o) for o in load_yaml("problems.yaml").get("where_objects", []))


@functools.cache
def _object_faults() -> dict[str, str]:
    return {str(k): str(v) for k, v in load_yaml("problems.yaml").get("object_faults", {}).items()}


@functools.cache
def _harm_faults() -> frozenset[str]:
    return frozenset(str(k) for k in load_yaml("problems.yaml").get("harm_faults", []))


def _shared_objects(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    """The objects two reports share; one that only says where (楼道) does not count when each
    names another object too."""
    shared = a & b
    if shared and shared <= _where_objects() and (a - shared) and (b - shared):
        return frozenset()
    return shared


def _object_of(lex: _Lexicon, term: str) -> str:
    found = lex.term_object.get(term)
    if found is not None:
        return found
    return next(k for p, k in lex.patterns if p.fullmatch(term))


@functools.cache
def _request_words() -> re.Pattern[str]:
    words = sorted(load_yaml("problems.yaml").get("request_words", []), key=len, reverse=True)
    return re.compile("|".join(re.escape(str(w)) for w in words) or "(?!)")


@functools.cache
def _place_words() -> re.Pattern[str]:
    """Words that say where, not what is wrong (村口, 楼下, 小区): cut from the wording."""
    data = load_yaml("places.yaml")
    words = sorted({*data["vague"], *data["locative_words"]}, key=len, reverse=True)
    return re.compile("|".join(re.escape(str(w)) for w in words))


def objects_in(text: str) -> frozenset[str]:
    """The problem objects named in compact normalised text."""
    return _objects(text)


@functools.cache
def _vehicle_verbs() -> tuple[str, ...]:
    return tuple(str(v) for v in load_yaml("problems.yaml").get("vehicle_verbs", []))


def _unmasked(text: str) -> str:
    """`text` with words that only look like a problem term (坑人, 黑心) blanked, same length."""
    return _lexicon().false_terms.sub(lambda m: " " * len(m.group(0)), text)


def _objects(text: str, cuts: frozenset[int] | None = None) -> frozenset[str]:
    lex = _lexicon()
    verbs = _vehicle_verbs()
    text = _unmasked(text)
    return frozenset(
        _object_of(lex, m.group(0))
        for m in lex.objects.finditer(text)
        if (cuts is None or not wording.straddles(m.start(), m.end(), cuts))
        and not text[max(0, m.start() - 2) : m.start()].endswith(verbs)
    )


def _faults(text: str, cuts: frozenset[int] | None = None) -> frozenset[str]:
    lex = _lexicon()
    text = _unmasked(text)
    found: set[str] = set()
    for m in lex.faults.finditer(text):
        if cuts is None or not wording.straddles(m.start(), m.end(), cuts):
            found |= lex.term_faults[m.group(0)]
    return frozenset(found)


@functools.cache
def _fault_objects() -> dict[str, frozenset[str]]:
    data = load_yaml("problems.yaml").get("fault_objects", {})
    return {str(k): frozenset(str(o) for o in v) for k, v in data.items()}


def _scoped(faults: frozenset[str], objects: frozenset[str]) -> frozenset[str]:
    """`faults` less those that none of the named objects can have (a gas supply does not sag)."""
    if not objects:
        return faults
    scope = _fault_objects()
    return frozenset(f for f in faults if f not in scope or scope[f] & objects)


def features(
    text: str,
    resolution: Resolution,
    at: datetime,
    lat: float | None = None,
    lng: float | None = None,
    category: str | None = None,
    confidence: float | None = None,
    category_scores: tuple[tuple[str, float], ...] = (),
) -> Features:
    """Features of normalised `text`; place names (resolution.spans) are cut out first."""
    kept = list(text)
    for start, end in resolution.spans:
        for i in range(start, end):
            kept[i] = " "
    rest = "".join(kept)
    flat = rest.replace(" ", "")
    cuts = wording.boundaries(flat)
    asked = _place_words().sub(" ", _request_words().sub(" ", rest))
    core = _STOP.sub("", asked)
    grams = frozenset(
        part[i : i + 2] for part in core.split() for i in range(max(len(part) - 1, 0))
    )
    objects = _objects(flat, cuts)
    return Features(
        at=at,
        places=resolution.mentioned,
        lat=lat,
        lng=lng,
        objects=objects,
        faults=_scoped(_faults(flat, cuts), objects),
        grams=grams,
        category=category,
        words=wording.content_words(asked),
        confidence=confidence,
        nearby=resolution.adjacent,
        hints=resolution.hints,
        category_scores=category_scores,
    )


def same_place(a: Features, b: Features, cfg: Settings) -> str | None:
    """'place' (a shared named place), 'near' (locations within near_m), 'adjacent' (a road
    and a landmark beside it), 'unknown' or None."""
    if a.places and b.places and a.places & b.places:
        return "place"
    located = a.lat is not None and a.lng is not None and b.lat is not None and b.lng is not None
    if located:
        assert a.lat is not None and a.lng is not None and b.lat is not None and b.lng is not None
        if distance_m(a.lat, a.lng, b.lat, b.lng) <= cfg.near_m:
            return "near"
        return None
    # adjacency is symmetric, so the new message's `nearby` alone finds it (stored cases
    # do not keep theirs)
    if (a.nearby & b.places) or (b.nearby & a.places):
        return "adjacent"
    if a.places and b.places:
        return None
    return "unknown"


# weights of the lexicon-free wording signals (see docs/insight.md, "Similar cases")
TUNE: dict[str, float] = {
    "anchor": 0.8,
    "cos": 2.5,
    "cat_penalty": 0.15,
    "cat_sure": 0.7,
    "bare_wording": 0.04,
    "bare_factor": 0.85,
    "related": 0.6,
    "veto_wording": 0.6,
}


def _dice(a: Features, b: Features) -> float:
    return 2 * len(a.grams & b.grams) / (len(a.grams) + len(b.grams)) if a.grams or b.grams else 0.0


def _combined(dice: float, cos: float, shared: float) -> float:
    return min(1.0, max(dice * 1.6, cos * TUNE["cos"], shared * TUNE["anchor"]))


def wording_score(a: Features, b: Features, lexicon_free: bool = True) -> float:
    """How alike the two messages' own words are, in [0, 1]: bigram Dice, and unless
    `lexicon_free` is off, IDF cosine and the rarest shared word (no problem lexicon needed)."""
    dice = _dice(a, b)
    if not lexicon_free:
        return min(1.0, dice * 1.6)
    cos = wording.similarity(a.grams, a.words, b.grams, b.words)
    return _combined(dice, cos, wording.anchor(a.words, b.words))


def _stated_faults(f: Features, other: Features) -> frozenset[str]:
    """Its faults; when it names none and `other` names a harm (noise, smell …), the harm its
    objects are in themselves (粉尘 is dirt, 油烟 a smell: neither is a machine's noise)."""
    if f.faults or not other.faults & _harm_faults():
        return f.faults
    implied = _object_faults()
    return frozenset(implied[o] for o in f.objects if o in implied)


def problem_score(a: Features, b: Features) -> float:
    """How surely two messages report the same problem, in [0, 1]."""
    fault = _fault_agreement(_stated_faults(a, b), _stated_faults(b, a))
    # conflicting faults are the lexicon's verdict (水压低 / 水发黄): shared words such as
    # 校车 or 燃气 must not outvote it, so only the plain bigram overlap counts then
    words = wording_score(a, b, lexicon_free=fault > 0.0)
    if a.objects and b.objects:
        shared = _shared_objects(a.objects, b.objects)
        related = _related()
        if not shared and any((x, y) in related for x in a.objects for y in b.objects):
            obj = TUNE["related"]  # two names of one thing (水沟 / 下水道), less sure
        elif not shared:
            return round(0.25 * words, 4)
        else:
            # one shared object is most of the evidence; extra objects on one side weigh little
            obj = 0.7 + 0.3 * len(shared) / max(len(a.objects), len(b.objects))
    else:
        obj = 0.5  # one side names no object: faults, wording and category decide
    score = 0.45 * obj + 0.25 * fault + 0.30 * words
    if obj == 0.5 and 0.0 < fault < 1.0 and words < TUNE["bare_wording"]:
        # no shared object, faults only compatible (垂下来 / 断了) and not one word alike:
        # what two reports at one 村口 share is the place, not the problem
        score *= TUNE["bare_factor"]
    if fault == 0.0:
        score *= 0.75  # the same thing with another fault (水压低 / 水发黄) is another case
    if a.category and b.category and a.category != b.category:
        # categories are predicted: a weak signal next to objects and faults, and weaker
        # still when either prediction is unsure (0.28 for an unseen problem)
        sure = min(a.confidence or 1.0, b.confidence or 1.0)
        score *= 1.0 - TUNE["cat_penalty"] * min(1.0, sure / TUNE["cat_sure"])
    return round(score, 4)


BARE_WORDING = 0.2  # wording below this, with nothing else shared, is no evidence at all


def _shares(f: Features) -> dict[str, float]:
    # a case stored before the shares were kept, or corrected by hand: its one category
    if f.category_scores and f.category_scores[0][0] == f.category:
        return dict(f.category_scores)
    return {f.category: f.confidence or 0.0} if f.category else {}


def category_overlap(a: Features, b: Features) -> float:
    """How much of the two category predictions agree, in [0, 1]: the sum over categories of
    the smaller share (the first choices alone agree or not; the shares say how nearly)."""
    mine, theirs = _shares(a), _shares(b)
    return round(sum(min(p, theirs[c]) for c, p in mine.items() if c in theirs), 4)


def pair_features(new: Features, old: Features, place: str) -> dict[str, float]:
    """The evidence `pair_model` weighs for two reports at one place (`same_place`'s kind)."""
    fault = _fault_agreement(_stated_faults(new, old), _stated_faults(old, new))
    both = bool(new.objects and old.objects)
    shared = bool(_shared_objects(new.objects, old.objects))
    related = any((x, y) in _related() for x in new.objects for y in old.objects)
    sure = min(new.confidence or 0.0, old.confidence or 0.0)
    agree = new.category is not None and new.category == old.category
    dice = _dice(new, old)
    cos = wording.similarity(new.grams, new.words, old.grams, old.words)
    anchor = wording.anchor(new.words, old.words)
    words = _combined(dice, cos, anchor)
    unshared = not (both and shared) and fault != 1.0
    return {
        "obj_shared": float(both and shared),
        "obj_related": float(both and not shared and related),
        "obj_disjoint": float(both and not shared and not related),
        "obj_one": float(bool(new.objects) != bool(old.objects)),
        "fault_shared": float(fault == 1.0),
        "fault_compatible": float(fault == 0.8),
        "fault_conflict": float(fault == 0.0),
        "wording": words,
        "cosine": cos,
        "anchor": anchor,
        "dice": dice,
        "same_category": sure if agree else 0.0,
        "other_category": 0.0 if agree else sure,
        "category_overlap": category_overlap(new, old),
        "near": float(place == "near"),
        "adjacent": float(place == "adjacent"),
        # trained on pairs within one episode: a recurrence months later is judged as if at
        # its end, by the problem, not by the months between
        "days": min(1.0, abs((new.at - old.at).total_seconds()) / 86400 / 10),
        "same_object_other_fault": float(both and shared and fault == 0.0),
        "bare": float(unshared) * max(0.0, 1.0 - words / BARE_WORDING),
    }


PLACED = ("place", "near", "adjacent")
SAME_THING_WORDING = 0.6  # one object, conflicting faults: only wording this alike outvotes


def ruled_apart(values: dict[str, float]) -> bool:
    """insight.md's rule before any weighing: one thing with another fault (水压低 / 水发黄)
    is another case, unless the two are worded nearly alike (the lexicon misread a fault)."""
    return bool(values["same_object_other_fault"]) and values["wording"] < SAME_THING_WORDING


def placed_probability(new: Features, old: Features, place: str) -> float | None:
    """P(same problem) of two reports at one place, by the shipped pair model; 0 for one object
    with conflicting faults; None when both name objects and none is shared or related: two
    problems (the SQL index does not even fetch such a case, so it must not weigh in a group's
    mean either)."""
    values = pair_features(new, old, place)
    if values["obj_disjoint"]:
        return None
    if ruled_apart(values):
        return 0.0
    return round(pair_model.shipped().probability(values), 4)


def unplaced_features(new: Features, old: Features) -> dict[str, float]:
    """The evidence `pair_model.shipped_unplaced` weighs for a report with no place (`new`)."""
    values = pair_features(new, old, "unknown")
    return values | {
        "old_placed": float(bool(old.places) or old.lat is not None),
        "hinted": float(bool(new.hints & old.places)),
        "hand": problem_score(new, old),
    }


def unplaced_probability(new: Features, old: Features) -> float:
    """P(same problem) of a report that names no place and has no location and an earlier one:
    with no place to go by, only the problem and the time speak (a trained model, as at one
    place; trained on such pairs, of which few are the same problem)."""
    return round(pair_model.shipped_unplaced().probability(unplaced_features(new, old)), 4)


def _group_means(
    candidates: list[Candidate], probabilities: dict[int, float | None]
) -> dict[int, float]:
    """Per group, the mean probability over its reports at this place: a report joins a group
    it is like on the whole, not one whose single vaguest member it happens to resemble."""
    found: dict[int, list[float]] = {}
    for cand in candidates:
        p = probabilities.get(cand.case_id)
        if p is not None:
            found.setdefault(cand.root_id, []).append(p)
    return {root: sum(ps) / len(ps) for root, ps in found.items()}


def best_match(new: Features, candidates: Iterable[Candidate], cfg: Settings) -> Match | None:
    """The group this message belongs to, or the case it recurs, or None.

    A message whose place is unknown (no place named, no location) joins a group only when
    exactly one recent group reports the same problem: otherwise it starts its own case.
    """
    best: Match | None = None
    # groups an unplaced message could join: sure (score ≥ threshold_no_place) and, only
    # when no group is sure, those its loose place fits at threshold_hinted
    unknown_roots: tuple[set[int], set[int]] = (set(), set())
    found = list(candidates)
    places = [same_place(new, cand.features, cfg) for cand in found]
    probabilities = {
        cand.case_id: placed_probability(new, cand.features, place)
        for cand, place in zip(found, places, strict=True)
        if place in PLACED
    }
    means = _group_means(found, probabilities)
    threshold = pair_model.shipped().threshold if cfg.threshold is None else cfg.threshold
    for cand, place in zip(found, places, strict=True):
        if place is None or (place in PLACED and probabilities[cand.case_id] is None):
            continue  # another place, or two unrelated objects: two problems
        if not _fits_group(new, cand) and wording_score(new, cand.features) < TUNE["veto_wording"]:
            continue
        days = (new.at - cand.root_at).total_seconds() / 86400
        if days < 0 or days > cfg.recurrence_days:
            continue
        in_episode = days <= cfg.episode_days
        placed = probabilities.get(cand.case_id)
        if place == "unknown":
            if new.places or new.lat is not None or not in_episode:
                continue  # a placed report joins placed ones; a recurrence needs a place
            if not unplaced_may_join(new, cand.features):
                continue
            score = unplaced_probability(new, cand.features)
            tier = _unknown_tier(new, cand.features, score, cfg)
            if tier is None:
                continue
            unknown_roots[tier].add(cand.root_id)
        else:
            if placed is None:
                continue  # PLACED pairs without a probability were skipped above
            if place == "adjacent" and not new.objects & cand.features.objects:
                continue  # beside the named place: only the same named object (this pothole)
            if placed < threshold or means.get(cand.root_id, 0.0) < threshold:
                continue  # unlike this report, or unlike its group on the whole
            score = placed
        kind = "same" if in_episode else "recurrence"
        rank = (place != "unknown", kind == "same", score, -days)
        if best is None or rank > _rank(best):
            best = Match(
                kind=kind,
                case_id=cand.root_id,
                score=score,
                place=place,
                days=round(days, 2),
                reporters=cand.reporters + 1,
                reasons={
                    "place": place,
                    "objects": sorted(new.objects & cand.features.objects),
                    "faults": sorted(new.faults & cand.features.faults),
                    "matched_case": cand.case_id,
                },
            )
    if best is not None and best.place == "unknown":
        sure, hinted = unknown_roots
        if len(sure or hinted) > 1:
            return None
    return best


def _fits_group(new: Features, cand: Candidate) -> bool:
    """A report naming objects joins a group only when the group names one of them (or a
    related one) or none: a loose manhole does not join the dark streetlights' group through
    a member that named no object."""
    group = cand.group_objects
    if not new.objects or not group or _shared_objects(new.objects, group):
        return True
    related = _related()
    return any((x, y) in related for x in new.objects for y in group)


def unplaced_may_join(new: Features, old: Features) -> bool:
    """The rules before any weighing for a report with no place: its loose place must fit the
    other's, and two sure categories that differ are two problems. (Cheap, so they run before
    the model: an unplaced report meets every recent case of its region.)"""
    if not hints_fit(new, old):
        return False  # 我们小区 cannot be a road's case, 我们村 not an estate's
    return not categories_disagree(new, old)  # with no place to go by, two problems


def _unknown_tier(new: Features, old: Features, score: float, cfg: Settings) -> int | None:
    """0 (sure) or 1 (only by its loose place) when an unplaced message that may join `old`
    (`unplaced_may_join`) scores `score` against it."""
    if score >= cfg.threshold_no_place:
        return 0
    # a loose place that fits the other's (我们小区 and an estate) is half a place
    return 1 if new.hints & old.places and score >= cfg.threshold_hinted else None


UNKNOWN_CATEGORY_SURE = 0.45  # both predictions this sure and different: no unplaced join


def categories_disagree(a: Features, b: Features) -> bool:
    """Both confidently predicted, in different categories."""
    if a.category is None or b.category is None or a.category == b.category:
        return False
    return min(a.confidence or 1.0, b.confidence or 1.0) >= UNKNOWN_CATEGORY_SURE


def hints_fit(new: Features, old: Features) -> bool:
    """Whether an unplaced message's loose place (its hints) allows the other's place."""
    if not new.hints:
        return True
    if old.places:
        return bool(old.places & new.hints)
    return not old.hints or bool(old.hints & new.hints)


def _rank(m: Match) -> tuple[bool, bool, float, float]:
    return (m.place != "unknown", m.kind == "same", m.score, -m.days)
