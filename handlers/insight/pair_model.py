"""Trained logistic models of "the same problem": two reports at one place, and a report that
names no place against an earlier one.

The hand-weighted `problem_score` trusts the object/fault lexicon: where its words are missing
or misread (黑漆漆 as darkness against 停电 as an outage), two reports of one problem at one
place score low. This model weighs the same evidence by what it predicted on labelled pairs:
every pair of reports at one named place (or within `near_m`) within one episode, in the sets
`bench/insight_pair_model.py` names, fitted by scikit-learn's logistic regression. The shipped
coefficients (`data/pair_model.yaml`) are applied here by a dot product, so nothing trains at
run time. The second model (`data/pair_model_unplaced.yaml`) is fitted the same way on the
pairs whose newer report has no place and no location, where the place says nothing and far
fewer pairs are the same problem.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from handlers.insight.data_files import load_yaml

# `pair_features` also gives obj_disjoint (both name objects, none shared or related): a rule
# decides those pairs before the model, so it is no feature of it
FEATURES = (
    "obj_shared",  # both name objects and share one
    "obj_related",  # both name objects, none shared, two names of one thing (水沟 / 下水道)
    "obj_one",  # one side names an object, the other none
    "fault_shared",
    "fault_compatible",
    "fault_conflict",
    "wording",  # wording_score: bigram Dice, IDF cosine, rarest shared word
    "cosine",
    "anchor",
    "dice",
    "same_category",  # the lower confidence when both predictions agree, else 0
    "other_category",  # the lower confidence when they differ, else 0
    "category_overlap",  # the shares of the likeliest categories both predictions hold
    "near",  # the same place by location only
    "adjacent",  # a road and a landmark beside it
    "days",  # days apart / 10, at most 1
    "same_object_other_fault",  # one object, conflicting faults (水压低 / 水发黄)
    "bare",  # nothing in common but the place: no shared object or fault, wording near 0
)
# a report that names no place and has no location against an earlier one
# (`similar.unplaced_probability`)
UNPLACED_FEATURES = (
    *FEATURES,
    "obj_disjoint",  # both name objects, none shared or related (no rule decides here)
    "old_placed",  # the earlier report has a place or a location
    "hinted",  # the new report's loose place (我们小区) fits the earlier one's place
    "hand",  # similar.problem_score, the hand-weighted score of object, fault and wording
)


@dataclass(frozen=True)
class PairModel:
    """Coefficients by feature name, the intercept and the probability that accepts."""

    weights: Mapping[str, float]
    intercept: float
    threshold: float
    features: tuple[str, ...] = FEATURES

    def probability(self, values: Mapping[str, float]) -> float:
        """P(same problem) of one pair's feature values."""
        z = self.intercept + sum(self.weights[k] * values[k] for k in self.features)
        return 1.0 / (1.0 + math.exp(-z))


def _load(name: str, features: tuple[str, ...]) -> PairModel:
    data = load_yaml(name)
    weights = {str(k): float(v) for k, v in data["weights"].items()}
    missing = set(features) - set(weights)
    if missing:
        raise ValueError(f"{name} lacks weights for {sorted(missing)}")
    return PairModel(weights, float(data["intercept"]), float(data["threshold"]), features)


@functools.cache
def shipped() -> PairModel:
    """The model of two reports at one place (data/pair_model.yaml)."""
    return _load("pair_model.yaml", FEATURES)


@functools.cache
def shipped_unplaced() -> PairModel:
    """The model of a report with no place against an earlier one (pair_model_unplaced.yaml)."""
    return _load("pair_model_unplaced.yaml", UNPLACED_FEATURES)
