"""Benchmark the personal-data masker on labeled sets: per-type P/R, clean-message FPs, speed.

    .venv/bin/python bench/pii.py [FILE.jsonl ...]   (default: both sets in tests/fixtures/privacy)

Exact: a predicted span counts only with the same start, end and type as a labeled one.
Overlap: a predicted span counts if it overlaps a labeled span of the same type (precision), and a
labeled span counts as found if a predicted span of its type overlaps it (recall).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path

from handlers.privacy import Span, find_spans
from handlers.privacy.spans import TYPES

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "privacy"
# an order or refund number as the sets write them, found independently of the masker's labels
ORDER = re.compile(r"(?:订单|退款|退货)[单编]?号?码?[：:\s是为]{0,3}([0-9A-Za-z][0-9A-Za-z\-]{5,})")


def load(path: Path) -> list[dict]:
    """Records `{"id", "text", "spans"}` of a labeled JSONL file."""
    return [json.loads(ln) for ln in path.read_text("utf-8").splitlines() if ln.strip()]


def _overlaps(a: Span, b: Span) -> bool:
    return a.type == b.type and a.start < b.end and b.start < a.end


def score(records: list[dict], predicted: list[list[Span]]) -> dict[str, Counter[str]]:
    """Counts per type: gold, pred, exact, pred_overlap, gold_overlap."""
    c: dict[str, Counter[str]] = {t: Counter() for t in TYPES}
    for rec, pred in zip(records, predicted, strict=True):
        gold = [Span(s["start"], s["end"], s["type"]) for s in rec["spans"]]
        for g in gold:
            c[g.type]["gold"] += 1
            c[g.type]["gold_overlap"] += any(_overlaps(g, p) for p in pred)
        for p in pred:
            c[p.type]["pred"] += 1
            c[p.type]["exact"] += p in gold
            c[p.type]["pred_overlap"] += any(_overlaps(p, g) for g in gold)
    return c


def orders_masked(records: list[dict], predicted: list[list[Span]]) -> tuple[int, int]:
    """(order/refund numbers a predicted span touches, order/refund numbers in the set)."""
    hit = total = 0
    for rec, pred in zip(records, predicted, strict=True):
        for m in ORDER.finditer(rec["text"]):
            total += 1
            hit += any(p.start < m.end(1) and m.start(1) < p.end for p in pred)
    return hit, total


def _ratio(n: int, d: int) -> str:
    return f"{n / d:.3f}" if d else "  -  "


def report(path: Path) -> None:
    """Print the figures for one labeled file."""
    records = load(path)
    find_spans("预热 warm-up 王小明")  # load the dictionary before timing
    t0 = time.perf_counter()
    predicted = [find_spans(r["text"]) for r in records]
    elapsed = time.perf_counter() - t0
    rounds = max(1, int(2.0 / max(elapsed, 1e-6)))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for r in records:
            find_spans(r["text"])
    rate = rounds * len(records) / (time.perf_counter() - t0)
    cpu_rate = rounds * len(records) / (time.process_time() - c0)
    counts = score(records, predicted)
    clean = [(r, p) for r, p in zip(records, predicted, strict=True) if not r["spans"]]
    touched = [r["id"] for r, p in clean if p]
    print(
        f"== {path.name}: {len(records)} messages, {len(records) - len(clean)} with personal data"
    )
    print(f"{'type':10} {'gold':>5} {'pred':>5}  exact P  exact R  ovl P    ovl R")
    for t in TYPES:
        k = counts[t]
        print(
            f"{t:10} {k['gold']:5} {k['pred']:5}  {_ratio(k['exact'], k['pred']):7}  "
            f"{_ratio(k['exact'], k['gold']):7}  {_ratio(k['pred_overlap'], k['pred']):7}  "
            f"{_ratio(k['gold_overlap'], k['gold']):7}"
        )
    print(f"clean messages touched: {len(touched)} of {len(clean)} {touched}")
    print("order/refund numbers masked: {} of {}".format(*orders_masked(records, predicted)))
    print(f"speed: {rate:,.0f} messages/s wall clock, {cpu_rate:,.0f} per CPU second (one process)")
    for rec, pred in zip(records, predicted, strict=True):
        gold = {(s["start"], s["end"], s["type"]) for s in rec["spans"]}
        got = {(p.start, p.end, p.type) for p in pred}
        if gold != got and "-v" in sys.argv:
            text = rec["text"]
            miss = [(text[a:b], t) for a, b, t in sorted(gold - got)]
            extra = [(text[a:b], t) for a, b, t in sorted(got - gold)]
            print(f"  {rec['id']}: missed {miss} extra {extra}")


if __name__ == "__main__":
    files = [Path(a) for a in sys.argv[1:] if a != "-v"]
    for f in files or [FIXTURES / f"{n}.jsonl" for n in ("labeled", "holdout", "fresh", "fresh2")]:
        report(f)
