"""What an import would do: one readable line per entity (for `--dry-run`), or row by row."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class RowChange:
    """One valid row of the file: what it does to its entity (the workbench's preview)."""

    section: str
    row: int
    key: str
    name: str | None
    action: str  # create | update | unchanged
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)  # (field, before, after)


def describe_rows(plan: Plan) -> list[RowChange]:
    """Every valid row in file order, with the fields it changes."""
    rows: list[RowChange] = []
    for section in SECTIONS:
        for item in plan.items.get(section, []):
            key = item.key if not isinstance(item.key, tuple) else " ".join(item.key)
            name = item.after.get("name")
            if item.before is None:
                action, diffs = "create", [(k, None, v) for k, v in item.after.items() if v]
            else:
                diffs = [
                    (k, item.before.get(k), v)
                    for k, v in item.after.items()
                    if item.before.get(k) != v
                ]
                action = "update" if diffs else "unchanged"
            rows.append(RowChange(section, item.raw.row, str(key), name, action, diffs))
    return rows


def _label(item: Item) -> str:
    name = item.after.get("name")
    key = item.key if not isinstance(item.key, tuple) else " ".join(item.key)
    return f"{key!r}" + (f" ({name})" if name else "")


def _show(value: Any) -> str:
    text = "(empty)" if value in (None, [], {}) else str(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"
