"""Write a checked plan: create or update each entity by its key, in dependency order."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from storage.directory.plan import Item, Plan
from storage.directory.report import ImportReport, RowError
from storage.directory.rows import SECTIONS, WEEKDAYS
from storage.directory.snapshot import Entry, Snapshot
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

Progress = Callable[[str, int, int], None]


class ApplyFailed(Exception):
    """The database refused a row the checks let through; the savepoint is rolled back."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


class Writer:
    """Applies items section by section, tracking the ids of codes created along the way."""

    def __init__(self, session: Session, snap: Snapshot) -> None:
        self.session = session
        self.snap = snap
        self.ids: dict[str, dict[str, int]] = {
            s: {code: obj.id for code, obj in snap.objects[s].items()}
            for s in ("regions", "stations", "deputies")
        }

    def apply(self, plan: Plan, report: ImportReport, progress: Progress | None) -> None:
        """Write every item; counts go to `report`, flushing row by row to pin any failure."""
        for section in SECTIONS:
            items = plan.items.get(section)
            if items is None:
                continue
            for counts in (report.created, report.updated, report.unchanged):
                counts[section] = 0
            if section == "regions":
                items = _parents_first(items)
            self._release_unique(section, items)
            for done, item in enumerate(items, start=1):
                if item.before is None:
                    report.created[section] += 1
                elif item.before == item.after:
                    report.unchanged[section] += 1
                else:
                    report.updated[section] += 1
                if item.before != item.after:
                    self._write(section, item)
                if progress is not None:
                    progress(section, done, len(items))

    def _write(self, section: str, item: Item) -> None:
        try:
            getattr(self, f"_write_{section}")(item)
            self.session.flush()
        except SQLAlchemyError as exc:
            reason = f"the database refused this row: {getattr(exc, 'orig', None) or exc}"
            raise ApplyFailed(item.raw.error(reason)) from exc

    def _release_unique(self, section: str, items: list[Item]) -> None:
        # Two rows may swap a unique id (e.g. DingTalk userIds); park the current holders on a
        # placeholder first so no intermediate UPDATE collides. The checks guarantee every
        # holder is itself in the file and gets its new value later in this section.
        columns = {
            "deputies": [("dingtalk_user_id", "dingtalk_user_id")],
            "staff": [("dingtalk_user_id", "dingtalk_user_id"), ("wecom_user_id", "wecom_user_id")],
        }.get(section, [])
        objects = self.snap.objects[section]
        parked = False
        for key, attr in columns:
            holders = {getattr(o, attr): code for code, o in objects.items() if getattr(o, attr)}
            for item in items:
                holder = holders.get(item.after[key])
                if holder is not None and holder != item.key:
                    obj = objects[holder]
                    setattr(obj, attr, f"~released~{obj.id}")
                    parked = True
        if parked:
            self.session.flush()

    def _obj(self, section: str, item: Item, factory: Callable[[], Any]) -> Any:
        obj = self.snap.objects[section].get(item.key)
        if obj is None:
            obj = factory()
            self.session.add(obj)
            self.snap.objects[section][item.key] = obj
        return obj

    def _id(self, section: str, code: str | None) -> int | None:
        return None if code is None else self.ids[section][code]

    def _write_regions(self, item: Item) -> None:
        a = item.after
        obj = self._obj("regions", item, lambda: Region(code=item.key))
        obj.name, obj.level, obj.office_group_id = a["name"], a["level"], a["office_group"]
        obj.parent_id = self._id("regions", a["parent"])
        sla = a["sla"]
        obj.sla_claim_days = sla["claim_days"]
        obj.sla_answer_days = sla["answer_days"]
        obj.sla_close_days = sla["close_days"]
        self.session.flush()
        self.ids["regions"][item.key] = obj.id

    def _write_stations(self, item: Item) -> None:
        a = item.after
        obj = self._obj("stations", item, lambda: Station(code=item.key))
        obj.name, obj.address, obj.lat, obj.lng = a["name"], a["address"], a["lat"], a["lng"]
        obj.region_id = self._id("regions", a["region"])
        obj.dingtalk_group_id = a["dingtalk_group"]
        self.session.flush()
        self.ids["stations"][item.key] = obj.id

    def _write_deputies(self, item: Item) -> None:
        a = item.after
        obj = self._obj("deputies", item, lambda: Deputy(code=item.key))
        obj.name, obj.dingtalk_user_id, obj.level = a["name"], a["dingtalk_user_id"], a["level"]
        obj.phone, obj.active = a["phone"], a["active"]
        self.session.flush()
        self.ids["deputies"][item.key] = obj.id
        self._sync_links(obj.id, a)

    def _sync_links(self, deputy_id: int, a: Entry) -> None:
        stations = self.ids["stations"]
        want_links = {stations[code] for code in a["stations"]}
        want_slots = {
            (stations[code], WEEKDAYS.index(day))
            for code, days in a["duty"].items()
            for day in days
        }
        links = self.snap.memberships.setdefault(deputy_id, {})
        slots = self.snap.slots.setdefault(deputy_id, {})
        gone: list[RosterSlot | DeputyStation] = [slots.pop(k) for k in set(slots) - want_slots]
        gone += [links.pop(station_id) for station_id in set(links) - want_links]
        for row in gone:
            self.session.delete(row)
        if gone:
            self.session.flush()  # deletes first, so a re-added row never meets its old self
        for station_id in sorted(want_links - set(links)):
            links[station_id] = DeputyStation(deputy_id=deputy_id, station_id=station_id)
            self.session.add(links[station_id])
        for station_id, weekday in sorted(want_slots - set(slots)):
            slot = RosterSlot(station_id=station_id, deputy_id=deputy_id, weekday=weekday)
            slots[(station_id, weekday)] = slot
            self.session.add(slot)

    def _write_leaves(self, item: Item) -> None:
        a = item.after
        obj = self._obj("leaves", item, Leave)
        obj.deputy_id = self._id("deputies", a["deputy"])
        obj.start_date = date.fromisoformat(a["from"])
        obj.end_date = date.fromisoformat(a["to"])
        obj.substitute_id = self._id("deputies", a["substitute"])

    def _write_staff(self, item: Item) -> None:
        a = item.after
        obj = self._obj("staff", item, lambda: Staff(code=item.key))
        obj.name, obj.dingtalk_user_id = a["name"], a["dingtalk_user_id"]
        obj.wecom_user_id = a["wecom_user_id"]
        obj.region_id = self._id("regions", a["region"])
        obj.station_id = self._id("stations", a["station"])

    def _write_departments(self, item: Item) -> None:
        a = item.after
        obj = self._obj("departments", item, lambda: Department(code=item.key))
        obj.name, obj.dingtalk_group_id = a["name"], a["dingtalk_group"]
        obj.region_id = self._id("regions", a["region"])
        obj.aliases = ",".join(a["aliases"]) or None

    def _write_scenes(self, item: Item) -> None:
        a = item.after
        obj = self._obj("scenes", item, lambda: SceneCode(scene=item.key))
        obj.station_id = self._id("stations", a["station"])
        obj.plate = a["plate"]

    def _write_places(self, item: Item) -> None:
        a = item.after
        obj = self._obj("places", item, lambda: Place(name=a["name"]))
        obj.name, obj.kind, obj.lat, obj.lng = a["name"], a["kind"], a["lat"], a["lng"]
        obj.region_id = self._id("regions", a["region"])
        obj.aliases = list(a["aliases"])


def _parents_first(items: list[Item]) -> list[Item]:
    """Regions ordered so a parent created by this file is written before its children."""
    by_code = {item.key: item for item in items}
    ordered: list[Item] = []
    placed: set[str] = set()

    def place(item: Item) -> None:
        if item.key in placed:
            return
        placed.add(item.key)  # before recursing: the checks already ruled out cycles
        parent = by_code.get(item.after["parent"])
        if parent is not None:
            place(parent)
        ordered.append(item)

    for item in items:
        place(item)
    return ordered
