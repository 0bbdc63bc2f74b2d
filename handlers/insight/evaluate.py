"""Scores of a clustering against labels: pairwise P/R/F1, trap false merges, categories."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

TRAP_KINDS = ("other_place", "other_problem", "later")


@dataclass(frozen=True)
class Scores:
    """Figures of one run."""

    precision: float
    recall: float
    f1: float
    false_merges: dict[str, int]
    category_accuracy: float
    category_macro_f1: float
    place_accuracy: float
    unresolved: int


def _pairs(groups: Mapping[str, str]) -> set[tuple[str, str]]:
    members: dict[str, list[str]] = defaultdict(list)
    for item, group in groups.items():
        members[group].append(item)
    return {tuple(sorted(p)) for ids in members.values() for p in combinations(ids, 2)}  # type: ignore[misc]


def pairwise(truth: Mapping[str, str], predicted: Mapping[str, str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of `predicted` groups against `truth`."""
    t, p = _pairs(truth), _pairs(predicted)
    hit = len(t & p)
    precision = hit / len(p) if p else 1.0
    recall = hit / len(t) if t else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def macro_f1(truth: Iterable[str], predicted: Iterable[str]) -> float:
    """Macro-averaged F1 over the true labels."""
    pairs = list(zip(truth, predicted, strict=True))
    labels = sorted({t for t, _ in pairs})
    tp: Counter[str] = Counter(t for t, p in pairs if t == p)
    fp: Counter[str] = Counter(p for t, p in pairs if t != p)
    fn: Counter[str] = Counter(t for t, p in pairs if t != p)
    f1s = []
    for label in labels:
        denom = 2 * tp[label] + fp[label] + fn[label]
        f1s.append(2 * tp[label] / denom if denom else 0.0)
    return sum(f1s) / len(f1s) if f1s else 0.0


def score(labelled: list[dict[str, Any]], outcomes: list[dict[str, Any]]) -> Scores:
    """Figures for outcomes (`id, group, category, place`) against labelled lines."""
    by_id = {o["id"]: o for o in outcomes}
    truth = {m["id"]: m["group"] for m in labelled}
    predicted = {m["id"]: by_id[m["id"]]["group"] for m in labelled}
    precision, recall, f1 = pairwise(truth, predicted)
    members: dict[str, set[str]] = defaultdict(set)
    for item, group in predicted.items():
        members[group].add(item)
    false = dict.fromkeys(TRAP_KINDS, 0)
    for m in labelled:
        if m.get("trap") in false:
            mates = members[predicted[m["id"]]] - {m["id"]}
            if any(truth[o] != m["group"] for o in mates):
                false[m["trap"]] += 1
    cats_true = [m["category"] for m in labelled]
    cats_pred = [by_id[m["id"]]["category"] for m in labelled]
    accuracy = sum(a == b for a, b in zip(cats_true, cats_pred, strict=True)) / len(labelled)
    places = [m for m in labelled if m.get("place")]
    place_ok = sum(by_id[m["id"]]["place"] == m["place"] for m in places) / max(len(places), 1)
    unresolved = sum(1 for o in outcomes if o["place"] is None)
    return Scores(
        round(precision, 4),
        round(recall, 4),
        round(f1, 4),
        false,
        round(accuracy, 4),
        round(macro_f1(cats_true, cats_pred), 4),
        round(place_ok, 4),
        unresolved,
    )
