"""Turn raw rows into a plan: each row validated, matched to what exists, and merged into "after".

Merge rule: a key the row gives replaces that field (an empty value clears it); a key the row
leaves out keeps the database value (a new entity gets the default). `stations` and `duty` of
a deputy replace the memberships and the roster as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from storage.directory.identity import assign_codes, resolve_stations
from storage.directory.report import RowError
from storage.directory.rows import PATTERN_HINTS, ROW_MODELS, SECTIONS, RowModel
from storage.directory.snapshot import Entry, Snapshot, canonical_duty, new_entry
from storage.directory.sources import RawRow, Source

NOUNS = {
    "regions": "region",
    "stations": "station",
    "deputies": "deputy",
    "leaves": "leave",
    "staff": "staff member",
    "departments": "department",
    "scenes": "scene",
    "places": "place",
}
KEY_FIELD = {s: "code" for s in SECTIONS} | {"scenes": "scene", "leaves": "from", "places": "name"}
# Fields a new entity must have, and fields that may never be emptied.
REQUIRED = {
    "regions": ("name", "level"),
    "stations": ("name", "region"),
    "deputies": ("name", "dingtalk_user_id"),
    "leaves": ("to",),
    "staff": ("name", "region"),
    "departments": ("name", "region"),
    "scenes": ("station",),
    "places": ("kind",),
}
NOT_EMPTY = {s: REQUIRED[s] for s in SECTIONS} | {
    "deputies": ("name", "dingtalk_user_id", "level", "active")
}


@dataclass
class Item:
    """One valid row: its key, the entity before (None when new) and after the import."""

    raw: RawRow
    key: Any
    before: Entry | None
    after: Entry
    present: set[str]
    dropped: set[str] = field(default_factory=set)  # keys already reported bad: not checked

    def given(self, *keys: str) -> bool:
        """True when none of `keys` was dropped, so rules about them can be checked."""
        return not self.dropped.intersection(keys)


@dataclass
class Plan:
    """Valid rows per section and the directory as it would look after the import."""

    items: dict[str, list[Item]] = field(default_factory=dict)
    effective: dict[str, dict[Any, Entry]] = field(default_factory=dict)
    broken: dict[str, set[Any]] = field(default_factory=dict)  # keys of rows that failed

    def exists(self, section: str, key: Any) -> bool:
        """True when `key` exists after the import, or belongs to a row already reported bad."""
        return key in self.effective[section] or key in self.broken[section]


def build_plan(source: Source, snap: Snapshot, errors: list[RowError]) -> Plan:
    """Validate every row on its own and merge the good ones over the snapshot."""
    plan = Plan(
        items={s: [] for s in SECTIONS if s in source.rows},
        effective={s: dict(snap.entries[s]) for s in SECTIONS},
        broken={s: set() for s in SECTIONS},
    )
    for section in SECTIONS:
        seen: dict[Any, RawRow] = {}
        rows = source.rows.get(section, [])
        if section == "deputies":
            rows = assign_codes(rows, snap.entries["deputies"], errors)
        for raw in rows:
            validated = _validate(raw, errors)
            if validated is None:
                plan.broken[section].add(raw.data.get(KEY_FIELD[section]))
                continue
            model, dropped = validated
            if section == "deputies":  # stations given by name become codes
                dropped |= resolve_stations(raw, model, plan.effective["stations"], errors)
            key = _key(section, model)
            if key in seen:
                errors.append(raw.error(_duplicate(section, key, seen[key]), KEY_FIELD[section]))
                continue
            seen[key] = raw
            item = _item(section, raw, model, key, snap.entries[section].get(key), errors)
            if item is None:
                plan.broken[section].add(key)
                continue
            item.dropped = dropped
            plan.items[section].append(item)
            plan.effective[section][key] = item.after
    return plan


def _validate(raw: RawRow, errors: list[RowError]) -> tuple[RowModel, set[str]] | None:
    """The row's model and the keys dropped for being bad (their errors are recorded).

    A row with a bad field is validated again without it, so its other fields can still be
    cross-checked and the author sees every problem of the row at once.
    """
    model_type = ROW_MODELS[raw.section]
    try:
        return model_type.model_validate(raw.data), set()
    except ValidationError as exc:
        errors.extend(_describe(raw, exc))
        dropped = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if any(not e["loc"] for e in exc.errors()) or KEY_FIELD[raw.section] in dropped:
            return None
    try:
        rest = {k: v for k, v in raw.data.items() if k not in dropped}
        return model_type.model_validate(rest), dropped
    except ValidationError:
        return None  # e.g. a required key was the bad one; the errors are already recorded


def _describe(raw: RawRow, exc: ValidationError) -> list[RowError]:
    found = []
    for err in exc.errors():
        loc = err["loc"]
        key = str(loc[0]) if loc else None
        path = ".".join(str(p) for p in loc)
        pattern = (err.get("ctx") or {}).get("pattern")
        if err["type"] == "extra_forbidden":
            known = ", ".join(f.alias or n for n, f in ROW_MODELS[raw.section].model_fields.items())
            reason = f"unknown key {key!r} (known: {known})"
        elif err["type"] == "missing":
            reason = f"{path}: required"
        elif pattern in PATTERN_HINTS:
            reason = f"{path}: {err['input']!r}: {PATTERN_HINTS[pattern]}"
        else:
            reason = f"{path}: {err['msg'].removeprefix('Value error, ')}" if path else err["msg"]
            given = err.get("input")
            if isinstance(given, str | int | float) and "Value error" not in err["msg"]:
                reason += f" (got {given!r})"
        found.append(RowError(raw.section, raw.row, reason, raw.key_lines.get(key or "", raw.line)))
    return found


def _key(section: str, model: Any) -> Any:
    if section == "leaves":
        return (model.deputy, model.from_.isoformat())
    if section == "scenes":
        return model.scene
    if section == "places":
        return (model.region, model.name)
    return model.code


def _duplicate(section: str, key: Any, first: RawRow) -> str:
    where = f"row {first.row}" + (f", line {first.line}" if first.line else "")
    if section == "leaves":
        return f"a second leave of deputy {key[0]!r} from {key[1]} (first at {where})"
    if section == "places":
        return f"duplicate place {key[1]!r} in region {key[0]!r} (first at {where})"
    return f"duplicate {NOUNS[section]} {key!r} (first at {where})"


def _item(
    section: str,
    raw: RawRow,
    model: RowModel,
    key: Any,
    before: Entry | None,
    errors: list[RowError],
) -> Item | None:
    present = model.present() - {"code", "scene", "deputy", "from", "name", "region"}
    if section != "places":
        present |= model.present() & {"name", "region"}
    values = model.model_dump(by_alias=True)
    patch = {name: _canonical(name, values[name]) for name in present}
    if raw.line is None and before is not None:
        # a spreadsheet's empty cell in a column that may never be empty means "not known
        # here" (an office sheet that lacks some 钉钉ID), so the stored value stays
        patch = {k: v for k, v in patch.items() if not (v is None and k in NOT_EMPTY[section])}
    problems = [
        raw.error("must not be empty", f)
        for f in NOT_EMPTY[section]
        if f in patch and patch[f] is None
    ]
    missing = [f for f in REQUIRED[section] if f not in raw.data]  # a bad one is not missing
    if before is None and missing:
        problems.append(raw.error(f"a new {NOUNS[section]} needs {', '.join(missing)}"))
    if problems:
        errors.extend(problems)
        return None
    after = dict(before) if before is not None else new_entry(section, key)
    after.update(patch)
    if section == "deputies" and "stations" in patch and "duty" not in patch:
        # Duty at a station the deputy has left would dangle; the rest of the roster stays.
        after["duty"] = {s: d for s, d in after["duty"].items() if s in after["stations"]}
    return Item(raw, key, before, after, present)


def _canonical(name: str, value: Any) -> Any:
    if name == "sla":
        return value or {"claim_days": None, "answer_days": None, "close_days": None}
    if name == "stations":
        return sorted(set(value or []))
    if name == "duty":
        return canonical_duty(value or {})
    if name == "aliases":
        return list(dict.fromkeys(value or []))
    if name in ("from", "to"):
        return value.isoformat() if value is not None else None
    return value
