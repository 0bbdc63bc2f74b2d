"""Batch clustering on the labelled sets: quality regression figures (not timing)."""

from __future__ import annotations

from datetime import datetime

import pytest

from handlers.insight.cluster import InputMessage, cluster
from handlers.insight.evaluate import pairwise, score
from tests.handlers.insight.support import gazetteer, labelled


def _run(which: str, locations: bool) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    rows = labelled(which)
    messages = [
        InputMessage(
            r["id"],
            r["text"],
            datetime.fromisoformat(r["created_at"]),
            r.get("lat") if locations else None,
            r.get("lng") if locations else None,
        )
        for r in rows
    ]
    outcomes = cluster(messages, gazetteer(which))
    return rows, [o.__dict__ for o in outcomes]


@pytest.mark.parametrize("which", ["main", "holdout", "handwritten", "fresh2"])
@pytest.mark.parametrize("locations", [False, True])
def test_quality_on_the_labelled_sets(which: str, locations: bool) -> None:
    rows, outcomes = _run(which, locations)
    s = score(rows, outcomes)
    assert s.f1 >= 0.85, s
    assert s.false_merges["later"] == 0, s
    assert max(s.false_merges.values()) <= 2, s
    assert s.category_accuracy >= 0.88, s


def test_groups_are_named_by_their_first_message_and_output_keeps_input_order() -> None:
    rows, outcomes = _run("main", True)
    assert [o["id"] for o in outcomes] == [r["id"] for r in rows]
    first_seen: dict[object, object] = {}
    for o in outcomes:
        first_seen.setdefault(o["group"], o["id"])
        assert first_seen[o["group"]] == o["group"]


def test_pairwise_scores() -> None:
    truth = {"a": "1", "b": "1", "c": "2", "d": "2"}
    assert pairwise(truth, truth) == (1.0, 1.0, 1.0)
    p, r, f = pairwise(truth, {"a": "1", "b": "1", "c": "1", "d": "2"})
    assert (round(p, 3), r) == (round(1 / 3, 3), 0.5)
    assert f > 0


def test_shuffled_input_gives_the_same_groups() -> None:
    rows = labelled("holdout")
    messages = [
        InputMessage(r["id"], r["text"], datetime.fromisoformat(r["created_at"])) for r in rows
    ]
    forward = {o.id: o.group for o in cluster(messages, gazetteer("holdout"))}
    backward = {o.id: o.group for o in cluster(messages[::-1], gazetteer("holdout"))}
    assert forward == backward
