"""Why 民情大脑 grouping misses or falsely merges pairs of one labelled set.

For every same-group pair the batch split (a miss) and every pair it put together across two
labelled groups (a false merge), print the reason class and the evidence: the places each side
resolved to, the time apart, the problem score and its parts, the categories.

    .venv/bin/python bench/insight_misses.py fresh4 [--locations] [--summary]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import categories_without, insight_gazetteer, insight_labelled  # noqa: E402
from handlers.insight.analysis import Analysis, analyse  # noqa: E402
from handlers.insight.cluster import InputMessage, cluster  # noqa: E402
from handlers.insight.pair_model import shipped  # noqa: E402
from handlers.insight.places import Gazetteer  # noqa: E402
from handlers.insight.similar import (  # noqa: E402
    PLACED,
    Settings,
    placed_probability,
    same_place,
    unplaced_probability,
    wording_score,
)


def _names(g: Gazetteer, ids: frozenset[int]) -> str:
    return "/".join(sorted(g.places[i].name for i in ids)) or "-"


def classify(a: Analysis, b: Analysis, cfg: Settings, merged: bool) -> tuple[str, dict[str, Any]]:
    """The reason class of one pair and its evidence."""
    fa, fb = a.features, b.features
    place = same_place(fa, fb, cfg)
    days = abs((fa.at - fb.at).total_seconds()) / 86400
    # as best_match decides: the pair model at a known place, the unplaced model elsewhere
    if place in PLACED:
        probability = placed_probability(fa, fb, place)
        score, threshold = (probability or 0.0), shipped().threshold
    else:
        new, old = (fa, fb) if fa.at >= fb.at else (fb, fa)
        score, threshold = unplaced_probability(new, old), cfg.threshold_no_place
    info = {
        "place": place,
        "days": round(days, 1),
        "score": round(score, 3),
        "wording": round(wording_score(fa, fb), 3),
        "objects": (sorted(fa.objects), sorted(fb.objects)),
        "faults": (sorted(fa.faults), sorted(fb.faults)),
        "cats": (a.category.category, b.category.category),
    }
    if merged:
        return f"false merge ({place})", info
    if not fa.places and fa.lat is None and not fb.places and fb.lat is None:
        return "place unresolved (both)", info
    if place == "unknown":
        return "place unresolved (one)", info
    if place is None:
        return "places differ", info
    if days > cfg.episode_days:
        return "time window", info
    if score < threshold:
        if a.category.category != b.category.category:
            return "wording below threshold + category disagrees", info
        return "wording below threshold", info
    return "transitive/other (pair passes alone)", info


def run(which: str, locations: bool, summary: bool) -> Counter[str]:
    """Print misses and false merges of a set; return counts by class."""
    g = insight_gazetteer(which)
    rows = insight_labelled(which)
    msgs = [
        InputMessage(
            r["id"],
            r["text"],
            datetime.fromisoformat(r["created_at"]),
            r.get("lat") if locations else None,
            r.get("lng") if locations else None,
        )
        for r in rows
    ]
    out = {o.id: o for o in cluster(msgs, g)}
    an = {m.id: analyse(g, m.text, m.created_at, m.lat, m.lng) for m in msgs}
    by_id = {r["id"]: r for r in rows}
    cfg = Settings()
    counts: Counter[str] = Counter()
    for x, y in combinations([r["id"] for r in rows], 2):
        same_true = by_id[x]["group"] == by_id[y]["group"]
        same_pred = out[x].group == out[y].group
        if same_true == same_pred:
            continue
        cls, info = classify(an[x], an[y], cfg, merged=same_pred)
        if same_pred:
            cls += f" trap={by_id[x].get('trap') or by_id[y].get('trap')}"
        counts[cls] += 1
        if summary:
            continue
        print(f"\n[{cls}] {x} / {y}  group {by_id[x]['group']}")
        for i in (x, y):
            a = an[i]
            print(
                f"  {i} place={_names(g, a.features.places)} ({a.resolution.how}) "
                f"true={by_id[i].get('place')} cat={a.category.category}"
                f"({a.category.confidence:.2f}) true={by_id[i]['category']}\n    {by_id[i]['text']}"
            )
        print(f"  {info}")
    return counts


def main() -> int:
    """Print the misses of the chosen set."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+")
    parser.add_argument("--locations", action="store_true")
    parser.add_argument("--summary", action="store_true")
    args = parser.parse_args()
    for which in args.sets:
        with categories_without(which):
            counts = run(which, args.locations, args.summary)
        print(f"\n== {which} ({'with locations' if args.locations else 'text'})")
        for cls, n in counts.most_common():
            print(f"  {n:4d}  {cls}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
