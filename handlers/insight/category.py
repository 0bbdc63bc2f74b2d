"""Category of a message: a lexicon of telling words plus a linear model on character n-grams.

The model (scikit-learn, TF-IDF of character 1–3-grams into logistic regression) is trained
once per process from the shipped examples (data/category_examples.jsonl): at first use, or
up front by `warm_up` (a worker calls it before taking jobs, so no case waits seconds for it).
The lexicon adds weight to the categories its words point at, and insight.md's borderline
rules (井盖 → 市政设施, 炸街 → 噪音, 电梯 → 物业 …) decide outright.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from typing import Any

from handlers.insight.data_files import load_jsonl, load_yaml
from handlers.insight.normalise import compact

LEXICON_WEIGHT = 0.06  # one lexicon point in units of model probability
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Categorised:
    """The category, a confidence in [0, 1], and what decided it (model | lexicon)."""

    category: str
    confidence: float
    source: str


def categories() -> list[str]:
    """The default category set (insight.md)."""
    return list(load_yaml("category_lexicon.yaml")["categories"])


@functools.cache
def _lexicon() -> tuple[list[tuple[tuple[str, ...], str]], dict[str, dict[str, float]]]:
    data = load_yaml("category_lexicon.yaml")
    decisive = [(tuple(words), cat) for words, cat in data["decisive"]]
    terms = {cat: {w: float(v) for w, v in words.items()} for cat, words in data["terms"].items()}
    return decisive, terms


def training_examples() -> list[tuple[str, str]]:
    """The shipped (text, category) examples."""
    return [(row["text"], row["category"]) for row in load_jsonl("category_examples.jsonl")]


_fitted: list[Any] = []


def _model() -> Any:
    # under the lock: two threads' first cases must not both train (seconds of CPU each)
    with _LOCK:
        if not _fitted:
            _fitted.append(_train())
        return _fitted[0]


def _train() -> Any:
    # imported here: only processes that categorise pay for scikit-learn
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = zip(*training_examples(), strict=True)
    model = make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
        LogisticRegression(C=20.0, max_iter=2000),
    )
    model.fit([compact(t) for t in texts], list(labels))
    return model


def warm_up() -> None:
    """Train the model now (seconds of CPU) rather than inside the first case's job."""
    _model()


@functools.cache
def _object_categories() -> tuple[dict[str, str], float]:
    data = load_yaml("category_lexicon.yaml")
    return dict(data.get("object_categories", {})), float(data.get("object_weight", 0.0))


def lexicon_scores(text: str) -> dict[str, float]:
    """Lexicon points per category for compact normalised text (words, then problem objects)."""
    from handlers.insight.similar import objects_in  # the object lexicon lives with similarity

    _, terms = _lexicon()
    scores: dict[str, float] = {}
    for cat, words in terms.items():
        total = sum(weight for word, weight in words.items() if word in text)
        if total:
            scores[cat] = total
    mapping, weight = _object_categories()
    for obj in objects_in(text):
        target = mapping.get(obj)
        if target is not None:
            scores[target] = scores.get(target, 0.0) + weight
    return scores


def categorise(text: str) -> Categorised:
    """The category of a message as sent (it is normalised here)."""
    flat = compact(text)
    decisive, _ = _lexicon()
    for words, cat in decisive:
        if any(w in flat for w in words):
            return Categorised(cat, 0.95, "lexicon")
    model = _model()
    probs = {
        str(c): float(p)
        for c, p in zip(model.classes_, model.predict_proba([flat])[0], strict=True)
    }
    lex = lexicon_scores(flat)
    combined = {c: p + LEXICON_WEIGHT * lex.get(c, 0.0) for c, p in probs.items()}
    best = max(combined, key=lambda c: combined[c])
    by_model = max(probs, key=lambda c: probs[c])
    total = sum(combined.values())
    confidence = round(combined[best] / total, 3) if total else 0.0
    return Categorised(best, confidence, "model" if best == by_model else "lexicon")
