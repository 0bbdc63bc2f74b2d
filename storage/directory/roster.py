"""The deputy list as an office keeps it: the rows `lianxin directory export` writes.

Headers come from data/header_aliases.yaml (`export`), stations are written by name and levels
and weekdays in Chinese, so the file reads like the office's own sheet and imports back as
unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from sqlalchemy.orm import Session

from storage.directory.rows import WEEKDAYS
from storage.directory.snapshot import Entry, load_snapshot
from storage.directory.sources import COLUMNS, EXPORT_HEADERS

_LEVELS = {"city": "市级", "county": "县级", "township": "乡镇级"}
_DAYS = {day: "周" + digit for day, digit in zip(WEEKDAYS, "一二三四五六日", strict=True)}
_SEPARATORS = re.compile(r"[;；,，、:：\s]")  # a name with one would split on import
_FIELD_OF = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}


def roster_table(session: Session) -> list[list[str]]:
    """Header row then one row per deputy (sorted by code), as text cells."""
    snap = load_snapshot(session)
    station_names = _station_labels(snap.entries["stations"])
    deputies = [snap.entries["deputies"][c] for c in sorted(snap.entries["deputies"])]
    rows = [list(EXPORT_HEADERS)]
    for number, deputy in enumerate(deputies, start=1):
        cells = _cells(deputy, station_names)
        rows.append(
            [
                str(number) if h == "序号" else cells.get(_FIELD_OF.get(h, ""), "")
                for h in EXPORT_HEADERS
            ]
        )
    return rows


def _station_labels(stations: dict[str, Entry]) -> dict[str, str]:
    """Stations by name, as offices write them; by code where a name would not read back."""
    names = [e["name"] for e in stations.values()]
    return {
        code: e["name"]
        if e["name"] and names.count(e["name"]) == 1 and not _SEPARATORS.search(e["name"])
        else code
        for code, e in stations.items()
    }


def _cells(deputy: Entry, station_names: dict[str, str]) -> dict[str, str]:
    stations = deputy["stations"]
    return {
        "code": deputy["code"],
        "name": deputy["name"] or "",
        "phone": deputy["phone"] or "",
        "stations": "、".join(station_names.get(s, s) for s in stations),
        "dingtalk_user_id": deputy["dingtalk_user_id"] or "",
        "level": _LEVELS.get(deputy["level"], deputy["level"] or ""),
        "duty": _duty(deputy["duty"], stations, station_names),
        "active": "是" if deputy["active"] else "否",
    }


def _duty(duty: dict[str, list[str]], stations: list[str], names: dict[str, str]) -> str:
    def days(values: list[str]) -> str:
        return ",".join(_DAYS[d] for d in values)

    if len(stations) == 1 and set(duty) <= set(stations):
        return days(duty.get(stations[0], []))  # one station: just the days, as offices write
    return ";".join(f"{names.get(s, s)}:{days(d)}" for s, d in duty.items())


def write_roster(table: list[list[str]], path: Path) -> None:
    """Write the table as .xlsx (sheet 代表名单) or as .csv (UTF-8 with BOM, as Excel reads it)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        path.write_bytes(roster_csv(table).encode("utf-8-sig"))
    elif suffix == ".xlsx":
        import openpyxl  # imported here: only spreadsheet exports pay for it

        book = openpyxl.Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = "代表名单"
        for row in table:
            sheet.append(row)  # text cells: phones stay text, never numbers
        book.save(path)
    else:
        raise ValueError(f"unsupported roster file type {suffix or '(none)'!r}: use .xlsx or .csv")


def roster_csv(table: list[list[str]]) -> str:
    """The table as CSV text (CRLF line ends, as Excel writes them)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(table)
    return out.getvalue()
