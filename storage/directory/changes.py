"""One readable line per entity an import would create or update (for `--dry-run`)."""

from __future__ import annotations

from typing import Any

from storage.directory.plan import NOUNS, Item, Plan
from storage.directory.rows import SECTIONS

_MAX_VALUE = 60


def describe_changes(plan: Plan) -> list[str]:
    """`create deputy 'd007' (张三)` / `update deputy 'd001': phone 138… → 139…`, in file order."""
    lines: list[str] = []
    for section in SECTIONS:
        for item in plan.items.get(section, []):
            if item.before is None:
                lines.append(f"create {NOUNS[section]} {_label(item)}")
            elif item.before != item.after:
                diffs = [
                    f"{key} {_show(item.before.get(key))} → {_show(value)}"
                    for key, value in item.after.items()
                    if item.before.get(key) != value
                ]
                lines.append(f"update {NOUNS[section]} {_label(item)}: " + "; ".join(diffs))
    return lines


def _label(item: Item) -> str:
    name = item.after.get("name")
    key = item.key if not isinstance(item.key, tuple) else " ".join(item.key)
    return f"{key!r}" + (f" ({name})" if name else "")


def _show(value: Any) -> str:
    text = "(empty)" if value in (None, [], {}) else str(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"
