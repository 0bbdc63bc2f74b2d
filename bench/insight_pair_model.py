"""Fit the two pair models of 民情大脑 grouping (`handlers/insight/pair_model.py`), score them.

Every pair of reports at one named place, within `near_m` or beside it, within one episode
(`episode_days` apart), of the training sets, in both modes (text only; with locations), is
one example: label 1 when the two are in one labelled group. Pairs of another group and a
recurrence are left out (the same problem, but another episode), and so are pairs a rule
decides before the model (`placed_probability`: unrelated objects; one object, other faults).
A pair with another problem's trap report weighs `TRAP_WEIGHT`. The second model is fitted the
same way on the pairs whose newer report has no place and no location (`unplaced_probability`:
with the rules `best_match` applies first). The fitted coefficients are written to
`handlers/insight/data/pair_model.yaml` and `pair_model_unplaced.yaml` with `--write`; the
pair-level precision, recall and F1 of the model are printed for every set, so the held-out
sets (not trained on) show how it does on wording it has not seen.

    .venv/bin/python bench/insight_pair_model.py            # fit and print, write nothing
    .venv/bin/python bench/insight_pair_model.py --write    # and ship the coefficients
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bench.common import (  # noqa: E402
    INSIGHT_FIXTURES,
    categories_without,
    insight_gazetteer,
    insight_labelled,
)
from handlers.insight.analysis import analyse  # noqa: E402
from handlers.insight.pair_model import FEATURES, UNPLACED_FEATURES  # noqa: E402
from handlers.insight.similar import (  # noqa: E402
    PLACED,
    Features,
    Settings,
    pair_features,
    ruled_apart,
    same_place,
    unplaced_features,
    unplaced_may_join,
)

DATA = ROOT / "handlers" / "insight" / "data"
TRAIN = (
    "main", "holdout", "handwritten", "fresh2", "fresh3", "dev4", "fresh4", "fresh5",
    "fresh6", "fresh7", "fresh8", "fresh9", "fresh10", "fresh11", "fresh12", "fresh13",
    "fresh14", "fresh15", "fresh16", "fresh17", "fresh18", "fresh19", "fresh20", "fresh21",
    "fresh22",
)  # fmt: skip
# blind sets, scored once after a fit, join TRAIN afterwards (fresh19-fresh22 were scored with
# the fit on the sets up to fresh18: docs/insight.md, "Session 7")
HELD_OUT: tuple[str, ...] = ()
C = 1.0  # L2 strength of scikit-learn's default; the features are few and in [0, 1]
# a false merge of another problem at the place costs more than a missed pair: weigh those
# (3 against 1: figures in docs/insight.md, "Pair model")
TRAP_WEIGHT = 3.0


@dataclass(frozen=True)
class Pairs:
    """One set's examples: feature rows, labels, and which rows pair another problem's trap
    report with a report it is not (weighed more in the fit)."""

    x: np.ndarray
    y: np.ndarray
    trap: np.ndarray


def pairs(which: str) -> tuple[Pairs, Pairs]:
    """The examples of one labelled set, both modes, categorised as an unseen set would be:
    pairs at one place, and pairs whose newer report has no place (`unplaced_probability`)."""
    with categories_without(which):
        return _pairs(which)


def _pairs(which: str) -> tuple[Pairs, Pairs]:
    cfg = Settings()
    gazetteer = insight_gazetteer(which)
    rows = insight_labelled(which)
    placed: list[tuple[list[float], bool, bool]] = []
    unplaced: list[tuple[list[float], bool, bool]] = []
    for located in (False, True):
        seen = []
        for r in rows:
            at = datetime.fromisoformat(r["created_at"])
            lat, lng = (r.get("lat"), r.get("lng")) if located else (None, None)
            seen.append((r, analyse(gazetteer, r["text"], at, lat, lng).features))
        seen.sort(key=lambda item: item[1].at)
        for j, (rb, new) in enumerate(seen):
            for ra, old in seen[:j]:
                if (new.at - old.at).total_seconds() > cfg.episode_days * 86400:
                    continue
                place = same_place(new, old, cfg)
                same = ra["group"] == rb["group"]
                if not same and "later" in (ra.get("trap"), rb.get("trap")):
                    continue  # the same problem in another episode: neither label fits
                trap = not same and "other_problem" in (ra.get("trap"), rb.get("trap"))
                if place in PLACED:
                    values = pair_features(new, old, place)
                    if values["obj_disjoint"] or ruled_apart(values):
                        continue  # decided by rule before the model (placed_probability)
                    placed.append(([values[k] for k in FEATURES], same, trap))
                elif place == "unknown" and unplaced_pair(new, old):
                    values = unplaced_features(new, old)
                    unplaced.append(([values[k] for k in UNPLACED_FEATURES], same, trap))
    return _as_pairs(placed, len(FEATURES)), _as_pairs(unplaced, len(UNPLACED_FEATURES))


def unplaced_pair(new: Features, old: Features) -> bool:
    """Whether best_match would weigh this pair with the unplaced model: the newer report has
    no place and no location, and no rule keeps them apart first."""
    return not (new.places or new.lat is not None) and unplaced_may_join(new, old)


def _as_pairs(rows: list[tuple[list[float], bool, bool]], width: int) -> Pairs:
    return Pairs(
        np.array([x for x, _, _ in rows], dtype=float).reshape(-1, width),
        np.array([y for _, y, _ in rows], dtype=bool),
        np.array([t for _, _, t in rows], dtype=bool),
    )


def _prf(y: np.ndarray, predicted: np.ndarray) -> str:
    hit = int((y & predicted).sum())
    p = hit / max(int(predicted.sum()), 1)
    r = hit / max(int(y.sum()), 1)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return f"P {p:.3f} R {r:.3f} F1 {f:.3f}"


def fit(
    data: dict[str, Pairs], features: tuple[str, ...], trap_weight: float, threshold: float
) -> dict[str, Any]:
    """Fit one model on TRAIN's pairs, print its figures per set, return the file's content."""
    x = np.vstack([data[s].x for s in TRAIN])
    y = np.concatenate([data[s].y for s in TRAIN])
    w = np.where(np.concatenate([data[s].trap for s in TRAIN]), trap_weight, 1.0)
    model = LogisticRegression(C=C, max_iter=5000).fit(x, y, sample_weight=w)
    weights = {k: round(float(v), 4) for k, v in zip(features, model.coef_[0], strict=True)}
    print(f"{len(y)} training pairs ({int(y.sum())} same), intercept {model.intercept_[0]:.3f}")
    print("weights", weights)
    for name, d in data.items():
        seen = "trained" if name in TRAIN else "held out"
        verdict = model.predict_proba(d.x)[:, 1] >= threshold if len(d.y) else d.y
        print(f"{name:12} {seen:8} {len(d.y):5} pairs  model {_prf(d.y, verdict)}")
    return {
        "trained_on": list(TRAIN),
        "pairs": len(y),
        "C": C,
        "trap_weight": trap_weight,
        "intercept": round(float(model.intercept_[0]), 4),
        "threshold": threshold,
        "weights": weights,
    }


def main() -> None:
    """Fit both models on TRAIN, print pair-level figures of every set, optionally write them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write both models' files")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--trap-weight", type=float, default=TRAP_WEIGHT)
    args = parser.parse_args()
    both = {s: pairs(s) for s in (*TRAIN, *HELD_OUT) if (INSIGHT_FIXTURES / s).is_dir()}
    header = "# Fitted by bench/insight_pair_model.py --write; do not edit by hand.\n"
    for index, features, name in (
        (0, FEATURES, "pair_model.yaml"),
        (1, UNPLACED_FEATURES, "pair_model_unplaced.yaml"),
    ):
        print(f"\n== {name}")
        # no trap weight for unplaced pairs: the rule of one group decides those merges
        trap_weight = args.trap_weight if index == 0 else 1.0
        data = {s: d[index] for s, d in both.items()}
        doc = fit(data, features, trap_weight, args.threshold)
        if args.write:
            path = DATA / name
            path.write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
