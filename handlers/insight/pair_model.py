"""A trained logistic model of "the same problem" for two reports at one place.

The hand-weighted `problem_score` trusts the object/fault lexicon: where its words are missing
or misread (黑漆漆 as darkness against 停电 as an outage), two reports of one problem at one
place score low. This model weighs the same evidence by what it predicted on labelled pairs:
every pair of reports at one named place (or within `near_m`) within one episode, in the sets
`bench/insight_pair_model.py` names, fitted by scikit-learn's logistic regression. The shipped
coefficients (`data/pair_model.yaml`) are applied here by a dot product, so nothing trains at
run time.
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


@dataclass(frozen=True)
class PairModel:
    """Coefficients by feature name, the intercept and the probability that accepts."""

    weights: Mapping[str, float]
    intercept: float
    threshold: float

    def probability(self, values: Mapping[str, float]) -> float:
        """P(same problem) of one pair's feature values."""
        z = self.intercept + sum(self.weights[k] * values[k] for k in FEATURES)
        return 1.0 / (1.0 + math.exp(-z))


@functools.cache
def shipped() -> PairModel:
    """The model of data/pair_model.yaml."""
    data = load_yaml("pair_model.yaml")
    weights = {str(k): float(v) for k, v in data["weights"].items()}
    missing = set(FEATURES) - set(weights)
    if missing:
        raise ValueError(f"pair_model.yaml lacks weights for {sorted(missing)}")
    return PairModel(weights, float(data["intercept"]), float(data["threshold"]))
