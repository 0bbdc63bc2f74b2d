"""The directory in the database as canonical, id-free dicts (the same shape as the YAML file).

Both the importer (to compare "before" with "after") and `export_directory` use this, so an
exported directory can be written out as YAML and imported again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.directory.rows import SECTIONS, WEEKDAYS
from storage.models import (
    Department,
    Deputy,
    DeputyStation,
    Leave,
    Place,
    Region,
    RosterSlot,
    SceneCode,
    Staff,
    Station,
)

Entry = dict[str, Any]


@dataclass
class Snapshot:
    """Canonical entries and their ORM rows, per section, keyed as the importer matches them."""

    entries: dict[str, dict[Any, Entry]] = field(default_factory=dict)
    objects: dict[str, dict[Any, Any]] = field(default_factory=dict)
    memberships: dict[int, dict[int, DeputyStation]] = field(default_factory=dict)
    slots: dict[int, dict[tuple[int, int], RosterSlot]] = field(default_factory=dict)


def split_aliases(text: str | None) -> list[str]:
    """Department aliases as stored (comma-separated) to a list."""
    return [a.strip() for a in (text or "").replace("，", ",").split(",") if a.strip()]


def load_snapshot(session: Session) -> Snapshot:
    """Read the whole directory (a few thousand rows at most) in one query per table."""
    snap = Snapshot(entries={s: {} for s in SECTIONS}, objects={s: {} for s in SECTIONS})
    regions = list(session.scalars(select(Region).order_by(Region.id)))
    stations = list(session.scalars(select(Station).order_by(Station.id)))
    deputies = list(session.scalars(select(Deputy).order_by(Deputy.id)))
    region_code = {r.id: r.code for r in regions}
    station_code = {s.id: s.code for s in stations}
    deputy_code = {d.id: d.code for d in deputies}

    for link in session.scalars(select(DeputyStation)):
        snap.memberships.setdefault(link.deputy_id, {})[link.station_id] = link
    for slot in session.scalars(select(RosterSlot).order_by(RosterSlot.id)):
        snap.slots.setdefault(slot.deputy_id, {})[(slot.station_id, slot.weekday)] = slot

    for r in regions:
        _put(snap, "regions", r.code, r, _region(r, region_code))
    for s in stations:
        _put(snap, "stations", s.code, s, _station(s, region_code))
    for d in deputies:
        _put(snap, "deputies", d.code, d, _deputy(d, snap, station_code))
    for leave in session.scalars(select(Leave).order_by(Leave.id)):
        entry = _leave(leave, deputy_code)
        key = (entry["deputy"], entry["from"])
        if key not in snap.entries["leaves"]:
            _put(snap, "leaves", key, leave, entry)
    for st in session.scalars(select(Staff).order_by(Staff.id)):
        _put(snap, "staff", st.code, st, _staff(st, region_code, station_code))
    for dep in session.scalars(select(Department).order_by(Department.id)):
        _put(snap, "departments", dep.code, dep, _department(dep, region_code))
    for sc in session.scalars(select(SceneCode).order_by(SceneCode.id)):
        _put(snap, "scenes", sc.scene, sc, _scene(sc, station_code))
    for pl in session.scalars(select(Place).order_by(Place.id)):
        entry = _place(pl, region_code)
        _put(snap, "places", (entry["region"], entry["name"]), pl, entry)
    return snap


def export_directory(session: Session) -> dict[str, list[Entry]]:
    """A canonical dump of the directory: sections as in the YAML file, sorted by code."""
    snap = load_snapshot(session)
    return {s: [snap.entries[s][k] for k in sorted(snap.entries[s])] for s in SECTIONS}


def _put(snap: Snapshot, section: str, key: Any, obj: Any, entry: Entry) -> None:
    snap.entries[section][key] = entry
    snap.objects[section][key] = obj


def _region(r: Region, region_code: dict[int, str]) -> Entry:
    return {
        "code": r.code,
        "name": r.name,
        "level": r.level,
        "parent": region_code.get(r.parent_id) if r.parent_id is not None else None,
        "sla": {
            "claim_days": r.sla_claim_days,
            "answer_days": r.sla_answer_days,
            "close_days": r.sla_close_days,
        },
        "office_group": r.office_group_id,
    }


def _station(s: Station, region_code: dict[int, str]) -> Entry:
    return {
        "code": s.code,
        "name": s.name,
        "region": region_code[s.region_id],
        "address": s.address,
        "lat": s.lat,
        "lng": s.lng,
        "dingtalk_group": s.dingtalk_group_id,
    }


def _deputy(d: Deputy, snap: Snapshot, station_code: dict[int, str]) -> Entry:
    duty: dict[str, set[int]] = {}
    for station_id, weekday in snap.slots.get(d.id, {}):
        duty.setdefault(station_code[station_id], set()).add(weekday)
    return {
        "code": d.code,
        "name": d.name,
        "dingtalk_user_id": d.dingtalk_user_id,
        "level": d.level,
        "phone": d.phone,
        "active": d.active,
        "stations": sorted(station_code[s] for s in snap.memberships.get(d.id, {})),
        "duty": canonical_duty({code: sorted(days) for code, days in duty.items()}),
    }


def canonical_duty(duty: dict[str, list[int]]) -> dict[str, list[str]]:
    """Duty as {station: [mon, ...]}, stations sorted, days in week order, empty days dropped."""
    return {s: [WEEKDAYS[d] for d in sorted(set(days))] for s, days in sorted(duty.items()) if days}


def _leave(leave: Leave, deputy_code: dict[int, str]) -> Entry:
    return {
        "deputy": deputy_code[leave.deputy_id],
        "from": leave.start_date.isoformat(),
        "to": leave.end_date.isoformat(),
        "substitute": deputy_code[leave.substitute_id] if leave.substitute_id else None,
    }


def _staff(st: Staff, region_code: dict[int, str], station_code: dict[int, str]) -> Entry:
    return {
        "code": st.code,
        "name": st.name,
        "dingtalk_user_id": st.dingtalk_user_id,
        "wecom_user_id": st.wecom_user_id,
        "region": region_code[st.region_id],
        "station": station_code[st.station_id] if st.station_id is not None else None,
    }


def _department(dep: Department, region_code: dict[int, str]) -> Entry:
    return {
        "code": dep.code,
        "name": dep.name,
        "region": region_code[dep.region_id],
        "dingtalk_group": dep.dingtalk_group_id,
        "aliases": split_aliases(dep.aliases),
    }


def _scene(sc: SceneCode, station_code: dict[int, str]) -> Entry:
    return {"scene": sc.scene, "station": station_code[sc.station_id], "plate": sc.plate}


def _place(pl: Place, region_code: dict[int, str]) -> Entry:
    return {
        "name": pl.name,
        "region": region_code[pl.region_id],
        "kind": pl.kind,
        "lat": pl.lat,
        "lng": pl.lng,
        "aliases": list(pl.aliases or []),
    }


def new_entry(section: str, key: Any) -> Entry:
    """The entry of an entity that does not exist yet: its key and every field empty/default."""
    blank: dict[str, Entry] = {
        "regions": {
            "code": key,
            "name": None,
            "level": None,
            "parent": None,
            "sla": {"claim_days": None, "answer_days": None, "close_days": None},
            "office_group": None,
        },
        "stations": {
            "code": key,
            "name": None,
            "region": None,
            "address": None,
            "lat": None,
            "lng": None,
            "dingtalk_group": None,
        },
        "deputies": {
            "code": key,
            "name": None,
            "dingtalk_user_id": None,
            "level": "county",
            "phone": None,
            "active": True,
            "stations": [],
            "duty": {},
        },
        "staff": {
            "code": key,
            "name": None,
            "dingtalk_user_id": None,
            "wecom_user_id": None,
            "region": None,
            "station": None,
        },
        "departments": {
            "code": key,
            "name": None,
            "region": None,
            "dingtalk_group": None,
            "aliases": [],
        },
        "scenes": {"scene": key, "station": None, "plate": None},
    }
    if section == "leaves":
        return {"deputy": key[0], "from": key[1], "to": None, "substitute": None}
    if section == "places":
        return {
            "name": key[1],
            "region": key[0],
            "kind": None,
            "lat": None,
            "lng": None,
            "aliases": [],
        }
    return blank[section]
