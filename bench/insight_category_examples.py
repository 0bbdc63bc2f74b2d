"""Ship our labelled sets' messages as category training examples, and score that honestly.

The category model (`handlers/insight/category.py`) learns from the hand-written examples of
`category_examples.jsonl`. The labelled sets under tests/fixtures/insight are fictional
complaints too, in far more varied wording (dialects, slips, stickers, long and short), each
labelled by insight.md's definitions. `--write` copies the messages of `SOURCES` to
`handlers/insight/data/category_examples_sets.jsonl` (text, category, set), which the default
category set trains on as well. Without it nothing is written; either way the script prints,
for every set, the category accuracy and macro-F1 of the model trained *without that set's
messages* (leave one set out) against the model of the hand-written examples alone, which is
what a deployment's own unseen messages can expect.

    .venv/bin/python bench/insight_category_examples.py            # score, write nothing
    .venv/bin/python bench/insight_category_examples.py --write    # and ship the examples
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sklearn.metrics import f1_score  # noqa: E402

from bench.common import insight_labelled  # noqa: E402
from handlers.insight.category import categorise  # noqa: E402
from handlers.insight.category_set import LABELLED_EXAMPLES, CategorySet, default_set  # noqa: E402

OUT = ROOT / "handlers" / "insight" / "data" / LABELLED_EXAMPLES
# every set but the blind ones not yet scored: a set joins once its untuned figures are taken
SOURCES = (
    "main", "holdout", "handwritten", "fresh2", "fresh3", "dev4", "fresh4", "fresh5", "fresh6",
    "fresh7", "fresh8", "fresh9", "fresh10", "fresh11", "fresh12", "fresh13", "fresh14",
    "fresh15", "fresh16", "fresh17", "fresh18", "fresh19", "fresh20", "fresh21", "fresh22",
)  # fmt: skip


def examples() -> list[dict[str, str]]:
    """One row per labelled message of `SOURCES`, in set and file order."""
    return [
        {"text": r["text"], "category": r["category"], "set": which}
        for which in SOURCES
        for r in insight_labelled(which)
    ]


def figures(which: str, cats: CategorySet) -> tuple[float, float]:
    """Category accuracy and macro-F1 of `cats` on one labelled set."""
    rows = insight_labelled(which)
    truth = [r["category"] for r in rows]
    got = [categorise(r["text"], cats).category for r in rows]
    accuracy = sum(a == b for a, b in zip(truth, got, strict=True)) / len(rows)
    return accuracy, float(f1_score(truth, got, average="macro"))


def main() -> None:
    """Print leave-one-set-out figures of every set; with --write, ship the examples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write data/{LABELLED_EXAMPLES}")
    parser.add_argument("--sets", default=",".join(SOURCES), help="sets to score")
    args = parser.parse_args()
    if args.write:
        lines = [json.dumps(row, ensure_ascii=False) for row in examples()]
        OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {len(lines)} examples to {OUT.relative_to(ROOT)}")
    hand = default_set(frozenset(SOURCES))
    for which in args.sets.split(","):
        alone = figures(which, hand)
        left_out = figures(which, default_set(frozenset({which})))
        print(
            f"{which:12} hand-written only acc {alone[0]:.3f} macro-F1 {alone[1]:.3f}   "
            f"+ other sets acc {left_out[0]:.3f} macro-F1 {left_out[1]:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
