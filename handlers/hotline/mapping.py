"""The tables that turn hotline values into ours: defaults from data files, then --mapping."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from handlers.lifecycle import Status

DATA = Path(__file__).with_name("data")
RESOLVED_VALUES = ("yes", "partly", "no")
SATISFACTION_VALUES = ("satisfied", "basic", "unsatisfied", "unrated")
_SECTIONS = ("categories", "regions", "statuses", "resolved", "satisfaction")
# 12345 platforms write category levels joined by any of these
_PATH_SEPARATORS = re.compile(r"\s*(?:-+>|—+>|－+>|→|＞|>|/|\\|｜|\|)\s*")


class MappingError(ValueError):
    """The mapping file is unusable; the message names the key and what is allowed."""


def category_path(raw: str) -> str:
    """A category path with its levels joined by "->" (城乡建设/市政设施 → 城乡建设->市政设施)."""
    parts = [p.strip() for p in _PATH_SEPARATORS.split(raw.strip())]
    return "->".join(p for p in parts if p)


@dataclass
class Mapping:
    """Category, region, status and answer-word tables for one import."""

    categories: dict[str, str] = field(default_factory=dict)  # path (or prefix) → category
    regions: dict[str, str] = field(default_factory=dict)  # hotline region name → region code
    statuses: dict[str, str] = field(default_factory=dict)  # 办理状态 → Status value
    resolved: dict[str, str] = field(default_factory=dict)
    satisfaction: dict[str, str] = field(default_factory=dict)

    def category_of(self, path: str) -> str | None:
        """Our category for a path: its longest listed prefix, else None (never a guess)."""
        levels = path.split("->")
        for n in range(len(levels), 0, -1):
            found = self.categories.get("->".join(levels[:n]))
            if found:
                return found
        return None

    def extended(self, extra: dict[str, dict[str, str]]) -> Mapping:
        """A copy with `extra`'s entries added over ours."""
        return Mapping(**{s: {**getattr(self, s), **extra.get(s, {})} for s in _SECTIONS})


@cache
def default_mapping() -> Mapping:
    """The built-in tables (handlers/hotline/data/defaults.yaml)."""
    data = _read(DATA / "defaults.yaml")
    return Mapping().extended(_sections(data, "defaults.yaml"))


def load_mapping(path: Path | None) -> Mapping:
    """The defaults extended by a mapping file (MappingError when it is malformed)."""
    if path is None:
        return default_mapping()
    return default_mapping().extended(_sections(_read(path), path.name))


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise MappingError(f"{path.name}: not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(f"{path.name}: not UTF-8 text") from exc


def _sections(data: Any, name: str) -> dict[str, dict[str, str]]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MappingError(f"{name}: must be a mapping with sections {', '.join(_SECTIONS)}")
    out: dict[str, dict[str, str]] = {}
    for section, table in data.items():
        if section not in _SECTIONS:
            raise MappingError(
                f"{name}: unknown section {section!r} (expected: {', '.join(_SECTIONS)})"
            )
        if not isinstance(table, dict):
            raise MappingError(f"{name}: {section} must map names to values")
        out[section] = {_key(section, k): _value(name, section, k, v) for k, v in table.items()}
    return out


def _key(section: str, key: Any) -> str:
    text = str(key).strip()
    return category_path(text) if section == "categories" else text


def _value(name: str, section: str, key: Any, value: Any) -> str:
    text = "" if value is None else str(value).strip()
    allowed: tuple[str, ...] = ()
    if section == "statuses":
        allowed = tuple(s.value for s in Status)
    elif section == "resolved":
        allowed = RESOLVED_VALUES
    elif section == "satisfaction":
        allowed = SATISFACTION_VALUES
    if not text or (allowed and text not in allowed):
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        raise MappingError(f"{name}: {section}.{key}: bad value {text!r}{hint}")
    if section == "categories" and len(text) > 64:
        raise MappingError(f"{name}: categories.{key}: a category name is at most 64 characters")
    return text
