"""The fixture gazetteers as in-memory Gazetteers, and the labelled sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from handlers.insight.places import Gazetteer, PlaceInfo

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "insight"


def gazetteer(which: str = "main") -> Gazetteer:
    """The places.yaml of a fixture set, ids numbered from 1 in file order."""
    data = yaml.safe_load((FIXTURES / which / "places.yaml").read_text(encoding="utf-8"))
    names = {r["code"]: r["name"] for r in data["regions"]}
    parents = {r["code"]: r.get("parent") for r in data["regions"]}
    places = [
        PlaceInfo(
            i, p["name"], p["kind"], p["region"], p["lat"], p["lng"], tuple(p.get("aliases", []))
        )
        for i, p in enumerate(data["places"], start=1)
    ]
    return Gazetteer(places, names, parents)


def labelled(which: str = "main") -> list[dict[str, Any]]:
    """The labelled messages of a fixture set."""
    text = (FIXTURES / which / "messages.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def place_id(g: Gazetteer, name: str) -> int:
    """The id of a place by its official name."""
    return next(p.id for p in g.places.values() if p.name == name)
