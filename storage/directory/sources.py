"""Read a directory file into raw rows that remember where they came from.

YAML is composed into nodes (not loaded) so every item and key keeps its line number, and
scalars stay the text the author wrote. CSV and XLSX hold the deputy list only; their rows are
numbered as the spreadsheet shows them (header = row 1).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from storage.directory.report import RowError
from storage.directory.rows import SECTIONS

_NULL_TAG = "tag:yaml.org,2002:null"
_MAX_DEPTH = 12

_ALIASES_FILE = Path(__file__).with_name("data") / "header_aliases.yaml"


def _load_aliases() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...], tuple[str, ...]]:
    data = yaml.safe_load(_ALIASES_FILE.read_text(encoding="utf-8"))
    fields = {str(k): tuple(str(a) for a in v) for k, v in data["fields"].items()}
    return fields, tuple(str(a) for a in data["ignored"]), tuple(str(h) for h in data["export"])


# Spreadsheet headers (storage/directory/data/header_aliases.yaml), compared after
# lower-casing and dropping spaces; IGNORED_COLUMNS carry nothing to import.
COLUMNS, IGNORED_COLUMNS, EXPORT_HEADERS = _load_aliases()
_HEADER_SEARCH_ROWS = 10  # a title row or two above the header is common in office sheets
_SHEET_NAMES = ("deputies", "代表", "代表名单")
_PLACE_SHEET_NAMES = ("places", "地点", "地名", "地名库", "地点库")
PLACE_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "地名", "地点"),
    "kind": ("kind", "类型", "类别"),
    "region": ("region", "区域", "所属区域", "社区", "所属社区", "区域编号"),
    "lat": ("lat", "纬度"),
    "lng": ("lng", "经度"),
    "aliases": ("aliases", "别名", "俗称"),
}


@dataclass
class RawRow:
    """One item of one section, as written, with its location."""

    section: str
    row: int  # YAML: 1-based index in the section; spreadsheet: row number
    line: int | None  # YAML line of the item
    data: dict[str, Any]
    key_lines: dict[str, int] = field(default_factory=dict)
    duplicate_of: str | None = None  # set when the row repeats a stored deputy under a new code

    def error(self, reason: str, key: str | None = None) -> RowError:
        """A RowError at this row, pointing at `key`'s line when known."""
        line = self.key_lines.get(key, self.line) if key else self.line
        return RowError(self.section, self.row, f"{key}: {reason}" if key else reason, line)


@dataclass
class Source:
    """Rows per section (in file order) and the structural problems found while reading."""

    rows: dict[str, list[RawRow]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)
    calendar: Any = None  # the YAML `calendar:` section as plain data (storage.calendar checks it)


def read_source(path: Path) -> Source:
    """Read a .yaml/.yml directory or a .csv/.xlsx deputy list (ValueError for other files)."""
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return read_yaml(path.read_text(encoding="utf-8-sig"), path.name)
    if suffix == ".csv":
        return read_table(_csv_cells(path.read_bytes()), path.name)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise ValueError(
        f"unsupported directory file type {suffix or '(none)'!r}: use .yaml, .csv or .xlsx"
    )


# ---------------------------------------------------------------- YAML


def read_yaml(text: str, name: str) -> Source:
    """Sections of a YAML directory; every item keeps its index and line."""
    source = Source()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark else "file"
        source.errors.append(RowError(name, where, f"not valid YAML: {exc.problem or exc}"))
        return source
    if root is None:
        return source
    if not isinstance(root, MappingNode):
        source.errors.append(RowError(name, _at(root), "the file must be a mapping of sections"))
        return source
    for key_node, value_node in root.value:
        section = str(key_node.value)
        if section == "calendar":
            source.calendar = _calendar_section(value_node, source.errors)
        elif section not in SECTIONS:
            reason = f"unknown section {section!r} (expected: {', '.join(SECTIONS)})"
            source.errors.append(RowError(name, _at(key_node), reason))
        elif section in source.rows:
            source.errors.append(RowError(name, _at(key_node), f"section {section!r} given twice"))
        else:
            source.rows[section] = _section(section, value_node, source.errors)
    return source


def _calendar_section(node: Node, errors: list[RowError]) -> Any:
    try:
        return _plain(node, 0)
    except ValueError as exc:
        errors.append(RowError("calendar", _at(node), str(exc)))
        return None


def _at(node: Node) -> str:
    return f"line {node.start_mark.line + 1}"


def _section(section: str, node: Node, errors: list[RowError]) -> list[RawRow]:
    if isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
        return []
    if not isinstance(node, SequenceNode):
        errors.append(
            RowError(section, _at(node), "a section must be a list of items (- key: ...)")
        )
        return []
    rows = []
    for index, item in enumerate(node.value, start=1):
        line = item.start_mark.line + 1
        if not isinstance(item, MappingNode):
            errors.append(RowError(section, index, "an item must be a mapping of key: value", line))
            continue
        try:
            data, key_lines = _item(item)
        except ValueError as exc:
            errors.append(RowError(section, index, str(exc), line))
            continue
        rows.append(RawRow(section, index, line, data, key_lines))
    return rows


def _item(node: MappingNode) -> tuple[dict[str, Any], dict[str, int]]:
    _flatten(node)
    data: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(_plain(key_node, 0))
        if key in data:
            raise ValueError(f"key {key!r} given twice (line {key_node.start_mark.line + 1})")
        data[key] = _plain(value_node, 0)
        key_lines[key] = key_node.start_mark.line + 1
    return data, key_lines


def _plain(node: Node, depth: int) -> Any:
    """Plain Python from a node; scalars stay text (or None), so the row models decide types."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"nesting too deep at line {node.start_mark.line + 1}")
    if isinstance(node, ScalarNode):
        return None if node.tag == _NULL_TAG else str(node.value)
    if isinstance(node, SequenceNode):
        return [_plain(child, depth + 1) for child in node.value]
    if isinstance(node, MappingNode):
        _flatten(node)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_plain(key_node, depth + 1))
            if key in out:
                raise ValueError(f"key {key!r} given twice (line {key_node.start_mark.line + 1})")
            out[key] = _plain(value_node, depth + 1)
        return out
    raise ValueError(f"unsupported YAML node at line {node.start_mark.line + 1}")


def _flatten(node: MappingNode) -> None:
    # Resolve `<<: *anchor` merge keys the way yaml.safe_load would.
    try:
        SafeConstructor().flatten_mapping(node)
    except ConstructorError as exc:
        raise ValueError(f"bad merge key: {exc.problem}") from exc


# ---------------------------------------------------------------- CSV / XLSX


def _csv_cells(raw: bytes) -> list[list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page, i.e. GBK.
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise ValueError("the CSV file is neither UTF-8 nor GBK text") from exc
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _read_xlsx(path: Path) -> Source:
    """A deputy sheet and/or a places sheet (名为 places/地点/地名库) of one workbook."""
    deputies, places = _xlsx_cells(path)
    source = read_table(deputies, path.name) if deputies is not None else Source()
    if places is not None:
        found = read_places_table(places, path.name)
        source.rows.update(found.rows)
        source.errors += found.errors
    return source


def _xlsx_cells(path: Path) -> tuple[list[list[str]] | None, list[list[str]] | None]:
    import openpyxl  # imported here: only spreadsheet imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError) as exc:
        raise ValueError(f"not a readable .xlsx workbook: {exc}") from exc
    try:
        sheets = book.worksheets
        place_sheets = [ws for ws in sheets if ws.title.strip().lower() in _PLACE_SHEET_NAMES]
        named = [ws for ws in sheets if ws.title.strip().lower() in _SHEET_NAMES]
        others = [ws for ws in sheets if ws not in place_sheets]
        sheet = named[0] if named else (others[0] if others else None)

        def cells(ws: Any) -> list[list[str]]:
            return [[_cell_text(v) for v in r] for r in ws.iter_rows(min_row=1, values_only=True)]

        return (
            cells(sheet) if sheet is not None else None,
            cells(place_sheets[0]) if place_sheets else None,
        )
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers and numeric codes typed into Excel
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("\ufeff", "")).lower()


_HEADER_FIELDS = {
    _header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases
}


def read_table(cells: list[list[str]], name: str) -> Source:
    """Deputy rows from spreadsheet cells under the first row that reads as a header.

    A header row names a name or code column and at least one other known column; title rows
    above it are skipped. Unknown columns are ignored with a warning; known ones an office keeps
    for itself (序号, 性别, 备注 ...) are ignored silently.
    """
    source = Source()
    header_at = next(
        (i for i, r in enumerate(cells[:_HEADER_SEARCH_ROWS]) if _looks_like_header(r)), None
    )
    if header_at is None:
        expected = ", ".join("/".join(a[:3]) for a in COLUMNS.values())
        source.errors.append(
            RowError(name, 1, f"no header row with a 姓名 or 编号 column (columns: {expected})")
        )
        return source
    columns = _columns(cells[header_at], header_at + 1, name, source)
    rows: list[RawRow] = []
    for number, cells_of_row in enumerate(cells[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in cells_of_row):
            continue
        extra = [c for c in cells_of_row[len(cells[header_at]) :] if c.strip()]
        if extra:
            source.errors.append(RowError("deputies", number, "more cells than header columns"))
            continue
        data = {
            key: cells_of_row[i].strip() if i < len(cells_of_row) else ""
            for i, key in columns.items()
        }
        rows.append(RawRow("deputies", number, None, data))
    source.rows["deputies"] = rows
    return source


def _looks_like_header(row: list[str]) -> bool:
    known = {_HEADER_FIELDS.get(_header_key(c)) for c in row} - {None}
    return bool(known & {"code", "name"}) and len(known) >= 2


def _columns(header: list[str], row: int, name: str, source: Source) -> dict[int, str]:
    columns: dict[int, str] = {}
    ignored = {_header_key(c) for c in IGNORED_COLUMNS}
    for i, text in enumerate(header):
        key = _header_key(text)
        if not key or key in ignored:
            continue
        field_name = _HEADER_FIELDS.get(key)
        if field_name is None:
            expected = ", ".join("/".join(a[:3]) for a in COLUMNS.values())
            reason = f"unknown column {text!r} ignored (known: {expected})"
            source.warnings.append(RowError(name, row, reason))
        elif field_name in columns.values():
            source.errors.append(RowError(name, row, f"column {text!r} repeats {field_name}"))
        else:
            columns[i] = field_name
    return columns


_PLACE_FIELDS = {
    _header_key(alias): name for name, aliases in PLACE_COLUMNS.items() for alias in aliases
}


def read_places_table(cells: list[list[str]], name: str) -> Source:
    """Place rows from a sheet whose header names a name/名称 column."""
    source = Source()
    header_at = next(
        (
            i
            for i, r in enumerate(cells[:_HEADER_SEARCH_ROWS])
            if any(_PLACE_FIELDS.get(_header_key(c)) == "name" for c in r)
        ),
        None,
    )
    if header_at is None:
        source.errors.append(RowError(name, 1, "the places sheet has no name/名称 header"))
        return source
    columns: dict[int, str] = {}
    for i, text in enumerate(cells[header_at]):
        key = _header_key(text)
        if not key or key in IGNORED_COLUMNS:
            continue
        field_name = _PLACE_FIELDS.get(key)
        if field_name is None:
            known = ", ".join("/".join(a[:2]) for a in PLACE_COLUMNS.values())
            source.errors.append(
                RowError("places", header_at + 1, f"unknown column {text!r} (known: {known})")
            )
        else:
            columns[i] = field_name
    rows = []
    for number, row in enumerate(cells[header_at + 1 :], start=header_at + 2):
        if not any(c.strip() for c in row):
            continue
        data = {key: row[i].strip() if i < len(row) else "" for i, key in columns.items()}
        rows.append(RawRow("places", number, None, data))
    source.rows["places"] = rows
    return source
