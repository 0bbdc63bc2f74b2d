"""Category of a message: a lexicon of telling words plus a linear model on character n-grams.

The model (scikit-learn, TF-IDF of character 1–3-grams into logistic regression) is trained
at first use from the examples of the active category set (`category_set.active()`: the
shipped examples of the default categories plus a deployment's own), or up front by `warm_up`
(a worker calls it before taking jobs, so no case waits seconds for it), and kept per process
and set. `warm_up(cache_dir)` also keeps the trained model in a file named by a hash of the
training examples, the model's parameters and scikit-learn's version, so a restarted worker
loads it in milliseconds instead of training again (the file is a pickle: the directory must be
as private as var/ itself). The lexicon adds weight to the categories its words point at, and
insight.md's borderline rules (井盖 → 市政设施, 炸街 → 噪音, 电梯 → 物业 …) decide outright.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import pickle
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.insight.category_set import CategorySet, active
from handlers.insight.normalise import compact

LEXICON_WEIGHT = 0.06  # one lexicon point in units of model probability
# the model's parameters; a change here must change the cache key too (it is part of it)
# (saga: 1–2 s of CPU on the ~4,300 examples where lbfgs took 15–20, to the same optimum)
_PARAMS = {"ngram_range": (1, 3), "C": 20.0, "solver": "saga", "max_iter": 1000, "tol": 1e-4}
_LOCK = threading.Lock()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Categorised:
    """The category, a confidence in [0, 1], and what decided it (model | lexicon)."""

    category: str
    confidence: float
    source: str
    # the likeliest categories with their shares (best first, at most TOP): two reports torn
    # between the same two categories are more alike than their first choices alone say
    scores: tuple[tuple[str, float], ...] = ()


TOP = 3


def categories() -> list[str]:
    """The deployment's category names (insight.md's default set unless configured)."""
    return active().names


def training_examples() -> list[tuple[str, str]]:
    """The (text, category) examples the model of the active set trains on."""
    return active().training()


_MODELS: dict[CategorySet, Any] = {}


def _model(cats: CategorySet) -> Any:
    # under the lock: two threads' first cases must not both train (seconds of CPU each)
    with _LOCK:
        found = _MODELS.get(cats)
        if found is None:
            if len(_MODELS) >= 4:  # a set is immutable; only tests switch sets often
                _MODELS.clear()
            found = _MODELS[cats] = _train(cats)
        return found


def _train(cats: CategorySet) -> Any:
    # imported here: only processes that categorise pay for scikit-learn
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts, labels = zip(*cats.training(), strict=True)
    model = make_pipeline(
        TfidfVectorizer(
            analyzer="char", ngram_range=_PARAMS["ngram_range"], sublinear_tf=True, min_df=1
        ),
        LogisticRegression(
            C=_PARAMS["C"],
            solver=_PARAMS["solver"],
            max_iter=_PARAMS["max_iter"],
            tol=_PARAMS["tol"],
            random_state=0,  # saga shuffles: the same examples give the same model
        ),
    )
    model.fit([compact(t) for t in texts], list(labels))
    return model


def warm_up(cache_dir: Path | None = None) -> None:
    """Train the active set's model now (seconds of CPU) rather than in the first case's job;
    with `cache_dir`, load the one a process trained before (and keep a new one there)."""
    cats = active()
    if cache_dir is None:
        _model(cats)
        return
    with _LOCK:
        if cats not in _MODELS:
            if len(_MODELS) >= 4:
                _MODELS.clear()
            _MODELS[cats] = _load_or_train(cats, cache_dir)


def model_file(cats: CategorySet, cache_dir: Path) -> Path:
    """The cache file of `cats`' model: named by everything the trained model depends on."""
    import sklearn

    # the model sees the normalised texts, so a change to normalise.yaml is a new model too
    texts = [(compact(t), c) for t, c in cats.training()]
    key = json.dumps([texts, repr(_PARAMS), sklearn.__version__], ensure_ascii=False)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    return cache_dir / f"category-model-{digest}.pickle"


def _load_or_train(cats: CategorySet, cache_dir: Path) -> Any:
    path = model_file(cats, cache_dir)
    try:
        with path.open("rb") as f:
            return pickle.load(f)  # noqa: S301 - our own file under the service's private dir
    except FileNotFoundError:
        pass
    except Exception as exc:  # a truncated or foreign file: train anew and replace it
        log.warning("category model cache %s unreadable (%s); training again", path, exc)
    model = _train(cats)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")  # workers start together
        try:
            tmp.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, path)  # a reader sees the whole file or none
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:  # a read-only var/ still runs, only without the cache
        log.warning("category model not cached in %s (%s)", cache_dir, exc)
    return model


@functools.lru_cache(maxsize=4)
def _terms(cats: CategorySet) -> dict[str, dict[str, float]]:
    return cats.terms()


def lexicon_scores(text: str, cats: CategorySet | None = None) -> dict[str, float]:
    """Lexicon points per category for compact normalised text (words, then problem objects)."""
    from handlers.insight.similar import objects_in  # the object lexicon lives with similarity

    cats = cats or active()
    scores: dict[str, float] = {}
    for cat, words in _terms(cats).items():
        total = sum(weight for word, weight in words.items() if word in text)
        if total:
            scores[cat] = total
    mapping = dict(cats.object_categories)
    for obj in objects_in(text):
        target = mapping.get(obj)
        if target is not None:
            scores[target] = scores.get(target, 0.0) + cats.object_weight
    return scores


def categorise(text: str, cats: CategorySet | None = None) -> Categorised:
    """The category of a message as sent (it is normalised here), in `cats` (default: active)."""
    cats = cats or active()
    flat = compact(text)
    for words, cat in cats.decisive:
        if any(w in flat for w in words):
            return Categorised(cat, 0.95, "lexicon", ((cat, 0.95),))
    model = _model(cats)
    probs = {
        str(c): float(p)
        for c, p in zip(model.classes_, model.predict_proba([flat])[0], strict=True)
    }
    lex = lexicon_scores(flat, cats)
    combined = {c: p + LEXICON_WEIGHT * lex.get(c, 0.0) for c, p in probs.items()}
    best = max(combined, key=lambda c: combined[c])
    by_model = max(probs, key=lambda c: probs[c])
    total = sum(combined.values())
    confidence = round(combined[best] / total, 3) if total else 0.0
    ranked = sorted(combined, key=lambda c: -combined[c])[:TOP]
    scores = tuple((c, round(combined[c] / total, 3)) for c in ranked) if total else ()
    return Categorised(best, confidence, "model" if best == by_model else "lexicon", scores)
