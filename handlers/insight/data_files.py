"""Read the insight package's data files once per process."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import yaml


@functools.cache
def load_yaml(name: str) -> Any:
    """A YAML data file of handlers/insight/data/."""
    text = (
        resources.files("handlers.insight")
        .joinpath("data")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


@functools.cache
def load_jsonl(name: str) -> tuple[dict[str, Any], ...]:
    """A JSON-lines data file of handlers/insight/data/ (blank lines skipped)."""
    text = (
        resources.files("handlers.insight")
        .joinpath("data")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())
