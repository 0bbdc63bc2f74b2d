"""Checks across rows, on the directory as it would be after the import (file over database)."""

from __future__ import annotations

from typing import Any

from storage.directory.identity import valid_stations
from storage.directory.plan import Item, Plan
from storage.directory.report import RowError
from storage.directory.rows import LEVEL_RANK

_MAX_ALIASES_TEXT = 256  # Department.aliases column width


def check_plan(plan: Plan, errors: list[RowError]) -> None:
    """Append an error for every reference, uniqueness or shape rule a row breaks."""
    _regions(plan, errors)
    _stations(plan, errors)
    _deputies(plan, errors)
    _leaves(plan, errors)
    _staff(plan, errors)
    _departments(plan, errors)
    _scenes(plan, errors)
    _places(plan, errors)


def _items(plan: Plan, section: str) -> list[Item]:
    return plan.items.get(section, [])


def _ref(plan: Plan, item: Item, key: str, section: str, noun: str, errors: list[RowError]) -> bool:
    code = item.after[key]
    if not item.given(key):
        return False  # already reported bad
    if code is None or plan.exists(section, code):
        return True
    errors.append(item.raw.error(f"unknown {noun} {code!r}", key))
    return False


def _regions(plan: Plan, errors: list[RowError]) -> None:
    regions = plan.effective["regions"]
    in_file = {item.key for item in _items(plan, "regions")}
    children: dict[str, list[str]] = {}
    for code, entry in regions.items():
        if entry["parent"] is not None:
            children.setdefault(entry["parent"], []).append(code)
    for item in _items(plan, "regions"):
        parent = item.after["parent"]
        if not item.given("parent", "level"):
            continue
        if parent == item.key:
            errors.append(item.raw.error("a region cannot be its own parent", "parent"))
        elif _ref(plan, item, "parent", "regions", "parent region", errors) and parent:
            cycle = _cycle(regions, item.key)
            if cycle:
                errors.append(item.raw.error(f"parent cycle {' → '.join(cycle)}", "parent"))
            elif parent in regions:
                _rank(item, item.after["level"], parent, regions[parent]["level"], errors)
        for child in children.get(item.key, []):
            if child not in in_file:  # children in the file report for themselves
                _rank(item, regions[child]["level"], item.key, item.after["level"], errors, child)


def _cycle(regions: dict[Any, dict[str, Any]], start: str) -> list[str] | None:
    path = [start]
    current = regions[start]["parent"]
    while current is not None and current in regions:
        if current == start:
            return [*path, start]
        if current in path:
            return None  # a cycle that does not pass through `start`; its members report it
        path.append(current)
        current = regions[current]["parent"]
    return None


def _rank(
    item: Item,
    level: str | None,
    parent: str,
    parent_level: str | None,
    errors: list[RowError],
    child: str | None = None,
) -> None:
    if level is None or parent_level is None or LEVEL_RANK[parent_level] > LEVEL_RANK[level]:
        return
    if child is None:
        reason = f"a {level} cannot be under {parent!r}, which is a {parent_level}"
        errors.append(item.raw.error(reason, "parent"))
    else:
        reason = f"a {parent_level} cannot have the {level} {child!r} under it (already stored)"
        errors.append(item.raw.error(reason, "level"))


def _within(regions: dict[Any, dict[str, Any]], code: str | None, ancestor: str) -> bool:
    seen: set[str] = set()
    while code is not None and code not in seen:
        if code == ancestor:
            return True
        seen.add(code)
        code = regions.get(code, {}).get("parent")
    return False


def _stations(plan: Plan, errors: list[RowError]) -> None:
    for item in _items(plan, "stations"):
        _ref(plan, item, "region", "regions", "region", errors)
        if item.given("lat", "lng") and (item.after["lat"] is None) != (item.after["lng"] is None):
            key = "lat" if "lat" in item.present else "lng"
            errors.append(item.raw.error("give both lat and lng, or neither", key))


def _deputies(plan: Plan, errors: list[RowError]) -> None:
    for item in _items(plan, "deputies"):
        stations = item.after["stations"]
        if not item.given("stations"):
            continue
        for code in stations:
            if not plan.exists("stations", code):
                errors.append(item.raw.error(_unknown_station(plan, code), "stations"))
        for code in item.after["duty"] if item.given("duty") else ():
            if not plan.exists("stations", code):
                errors.append(item.raw.error(_unknown_station(plan, code), "duty"))
            elif code not in stations:
                reason = f"duty at {code!r}, which is not one of this deputy's stations"
                errors.append(item.raw.error(reason, "duty"))
    _unique(plan, "deputies", "dingtalk_user_id", errors)
    _unique(plan, "deputies", "phone", errors)  # one person, one entry: no silent duplicates


def _unknown_station(plan: Plan, ref: str) -> str:
    return f"unknown station {ref!r} (valid: {valid_stations(plan.effective['stations'])})"


def _unique(plan: Plan, section: str, key: str, errors: list[RowError]) -> None:
    items = _items(plan, section)
    in_file = {item.key for item in items}
    stored: dict[str, Any] = {}
    for code, entry in plan.effective[section].items():
        if code not in in_file and entry[key] is not None:
            stored.setdefault(entry[key], code)
    first: dict[str, Item] = {}
    for item in items:
        value = item.after[key]
        if value is None or not item.given(key) or item.raw.duplicate_of:
            continue  # a row already refused as a stored person's duplicate says it once
        if value in stored:
            errors.append(item.raw.error(f"{value!r} is already used by {stored[value]!r}", key))
        elif value in first:
            other = first[value]
            reason = f"{value!r} is also used by {other.key!r} (row {other.raw.row})"
            errors.append(item.raw.error(reason, key))
        else:
            first[value] = item


def _leaves(plan: Plan, errors: list[RowError]) -> None:
    by_deputy: dict[str, list[Item]] = {}
    for item in _items(plan, "leaves"):
        leave = item.after
        _ref(plan, item, "deputy", "deputies", "deputy", errors)
        _ref(plan, item, "substitute", "deputies", "deputy", errors)
        if leave["substitute"] == leave["deputy"] and item.given("substitute"):
            errors.append(item.raw.error("a deputy cannot substitute for themselves", "substitute"))
        if not item.given("to"):
            continue
        if leave["to"] < leave["from"]:
            errors.append(item.raw.error(f"ends before it starts ({leave['from']})", "to"))
            continue
        by_deputy.setdefault(leave["deputy"], []).append(item)
    for items in by_deputy.values():
        items.sort(key=lambda i: i.after["from"])
        for prev, cur in zip(items, items[1:], strict=False):
            if cur.after["from"] <= prev.after["to"]:
                reason = (
                    f"overlaps the leave {prev.after['from']}..{prev.after['to']} "
                    f"at row {prev.raw.row}"
                )
                errors.append(cur.raw.error(reason, "from"))
    _leaves_against_stored(plan, by_deputy, errors)


def _leaves_against_stored(
    plan: Plan, by_deputy: dict[str, list[Item]], errors: list[RowError]
) -> None:
    """A new leave must not overlap one already stored (a row naming its `from` replaces it)."""
    in_file = {item.key for items in by_deputy.values() for item in items}
    stored: dict[str, list[dict[str, Any]]] = {}
    for key, entry in plan.effective["leaves"].items():
        if key not in in_file and entry.get("to") is not None:
            stored.setdefault(entry["deputy"], []).append(entry)
    for deputy, items in by_deputy.items():
        for item in items:
            for old in stored.get(deputy, []):
                if item.after["from"] <= old["to"] and old["from"] <= item.after["to"]:
                    reason = f"overlaps the stored leave {old['from']}..{old['to']}"
                    errors.append(item.raw.error(reason, "from"))


def _staff(plan: Plan, errors: list[RowError]) -> None:
    regions, stations = plan.effective["regions"], plan.effective["stations"]
    for item in _items(plan, "staff"):
        region, station = item.after["region"], item.after["station"]
        ok = _ref(plan, item, "region", "regions", "region", errors)
        ok = _ref(plan, item, "station", "stations", "station", errors) and ok
        if ok and station in stations and region in regions:
            where = stations[station]["region"]
            if where is not None and not _within(regions, where, region):
                reason = f"station {station!r} is in region {where!r}, outside {region!r}"
                errors.append(item.raw.error(reason, "station"))
    _unique(plan, "staff", "dingtalk_user_id", errors)
    _unique(plan, "staff", "wecom_user_id", errors)


def _departments(plan: Plan, errors: list[RowError]) -> None:
    # `#123 转办 住建局` must name one department: labels are unique within a region.
    labels: dict[tuple[str, str], set[str]] = {}
    for code, dep in plan.effective["departments"].items():
        for label in (dep["name"], *dep["aliases"]):
            labels.setdefault((dep["region"], label), set()).add(code)
    for item in _items(plan, "departments"):
        dep = item.after
        _ref(plan, item, "region", "regions", "region", errors)
        if not item.given("name", "aliases"):
            continue
        if len(",".join(dep["aliases"])) > _MAX_ALIASES_TEXT:
            reason = f"too long together (at most {_MAX_ALIASES_TEXT} characters)"
            errors.append(item.raw.error(reason, "aliases"))
        for label in dict.fromkeys((dep["name"], *dep["aliases"])):
            others = sorted(labels.get((dep["region"], label), set()) - {item.key})
            if others:
                reason = f"{label!r} also names department {others[0]!r} in the same region"
                errors.append(item.raw.error(reason, "aliases" if label != dep["name"] else "name"))


def _scenes(plan: Plan, errors: list[RowError]) -> None:
    for item in _items(plan, "scenes"):
        _ref(plan, item, "station", "stations", "station", errors)


def _places(plan: Plan, errors: list[RowError]) -> None:
    regions = plan.effective["regions"]
    for item in _items(plan, "places"):
        place = item.after
        if _ref(plan, item, "region", "regions", "region", errors):
            level = regions.get(place["region"], {}).get("level")
            # a county-wide road or bridge may belong to the county; a city is too coarse
            if level not in (None, "community", "township", "county"):
                reason = f"a place belongs to a community, township or county, not a {level}"
                errors.append(item.raw.error(reason, "region"))
        if item.given("lat", "lng") and (place["lat"] is None) != (place["lng"] is None):
            key = "lat" if "lat" in item.present else "lng"
            errors.append(item.raw.error("give both lat and lng, or neither", key))
