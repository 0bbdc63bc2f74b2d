"""Who a deputy row means, and which stations it names, as offices write their sheets.

Office rosters often have no 编号: a row then means the stored deputy with the same DingTalk id
or phone (one, or it is an error), or a new deputy who gets the next free code. A row whose 编号
is new but whose DingTalk id or phone belongs to a stored deputy is refused: re-importing the
same people under other 编号 must not create them twice. Stations may be given by code or by
name; an unknown one is reported (by the checks) with the valid ones.
"""

from __future__ import annotations

import re
from typing import Any

from storage.directory.report import RowError
from storage.directory.rows import normalize_phone
from storage.directory.snapshot import Entry
from storage.directory.sources import RawRow

_GENERATED = re.compile(r"^d(\d+)$")
_MAX_LISTED = 30


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _phone_key(value: Any) -> str | None:
    try:
        return normalize_phone(value) if _text(value) else None
    except ValueError:
        return None  # the row model reports the bad phone


def assign_codes(
    rows: list[RawRow], stored: dict[str, Entry], errors: list[RowError]
) -> list[RawRow]:
    """The rows that keep going, each with a `code`; identity problems are recorded."""
    in_file = {_text(r.data.get("code")) for r in rows} - {""}
    by_id: dict[str, str] = {}
    by_phone: dict[str, list[str]] = {}
    for code, entry in stored.items():
        if entry["dingtalk_user_id"]:
            by_id[entry["dingtalk_user_id"]] = code
        phone = _phone_key(entry["phone"])
        if phone:
            by_phone.setdefault(phone, []).append(code)
    taken = set(stored) | in_file
    counter = max((int(m.group(1)) for c in taken if (m := _GENERATED.match(c))), default=0)
    kept: list[RawRow] = []
    for raw in rows:
        code = _text(raw.data.get("code"))
        matches = _matches(raw, by_id, by_phone)
        if code:
            if code not in stored:
                # the same person under a new code; stored deputies the file also names under
                # their own code may be handing an id over, which the uniqueness checks judge
                others = {c: why for c, why in matches.items() if c not in in_file}
                if others:
                    errors.append(raw.error(_duplicate(code, others, stored), "code"))
                    raw.duplicate_of = next(iter(others))  # refused; its other problems show too
            kept.append(raw)
        elif len(matches) > 1:
            errors.append(raw.error(_ambiguous(matches, stored)))
        elif matches:
            raw.data["code"] = next(iter(matches))
            kept.append(raw)
        else:
            counter += 1
            while f"d{counter:03d}" in taken:
                counter += 1
            raw.data["code"] = f"d{counter:03d}"
            taken.add(raw.data["code"])
            kept.append(raw)
    return kept


def _matches(
    raw: RawRow, by_id: dict[str, str], by_phone: dict[str, list[str]]
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    user_id = _text(raw.data.get("dingtalk_user_id"))
    if user_id in by_id:
        found.setdefault(by_id[user_id], []).append(f"钉钉ID {user_id!r}")
    phone = _phone_key(raw.data.get("phone"))
    for code in by_phone.get(phone or "", []):
        found.setdefault(code, []).append(f"phone {phone!r}")
    return found


def _who(code: str, stored: dict[str, Entry]) -> str:
    return f"{code!r} ({stored[code]['name']})"


def _duplicate(code: str, others: dict[str, list[str]], stored: dict[str, Entry]) -> str:
    old, why = next(iter(others.items()))
    return (
        f"duplicate: {code!r} is a new 编号, but this person is already deputy "
        f"{_who(old, stored)} (same {' and '.join(why)}); use 编号 {old!r} or leave 编号 empty"
    )


def _ambiguous(matches: dict[str, list[str]], stored: dict[str, Entry]) -> str:
    parts = "; ".join(f"{' and '.join(why)} → {_who(c, stored)}" for c, why in matches.items())
    return f"ambiguous: this row matches more than one stored deputy ({parts}); give its 编号"


def resolve_stations(
    raw: RawRow, model: Any, stations: dict[str, Entry], errors: list[RowError]
) -> set[str]:
    """Rewrite the model's station names to codes in place; returns the keys found ambiguous."""
    by_name: dict[str, list[str]] = {}
    for code, entry in stations.items():
        if entry["name"]:
            by_name.setdefault(_name_key(entry["name"]), []).append(code)
    bad: set[str] = set()

    def code_of(ref: str, key: str) -> str:
        codes = [ref] if ref in stations else by_name.get(_name_key(ref), [])
        if len(codes) == 1:
            return codes[0]
        if codes:
            which = ", ".join(sorted(codes))
            errors.append(
                raw.error(f"{ref!r} names more than one station ({which}); give the code", key)
            )
            bad.add(key)
        return ref  # unknown: the checks report it with the valid stations

    if model.stations is not None:
        model.stations = [code_of(ref, "stations") for ref in model.stations]
    if model.duty is not None:
        model.duty = {code_of(ref, "duty"): days for ref, days in model.duty.items()}
    return bad


def _name_key(name: str) -> str:
    return re.sub(r"\s+", "", name)


def valid_stations(stations: dict[str, Entry]) -> str:
    """The stations an error may list: `dh01 东湖镇人大代表联络站, ...` (the first 30)."""
    listed = [f"{code} {stations[code]['name']}" for code in sorted(stations)]
    more = len(listed) - _MAX_LISTED
    shown = ", ".join(listed[:_MAX_LISTED])
    return shown + (f" … and {more} more (lianxin directory export lists them)" if more > 0 else "")
