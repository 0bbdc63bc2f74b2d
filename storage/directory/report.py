"""What an import did, or why it did nothing: counts per section and every bad row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RowError:
    """One problem: the section (or file), the row, the reason and, for YAML, the line."""

    source: str  # a section ("deputies") or, for file-level problems, the file name
    row: int | str  # YAML: 1-based item index; CSV/XLSX: spreadsheet row (header = 1); or "line 7"
    reason: str
    line: int | None = None  # YAML line of the offending key (or item)

    def __str__(self) -> str:
        where = f"{self.source} row {self.row}"
        if self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: {self.reason}"


@dataclass
class ImportReport:
    """Counts per section (only sections the file has) and the errors found."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # e.g. unknown columns, ignored
    changes: list[str] = field(default_factory=list)  # one line per entity created or updated
    rows: list[Any] = field(default_factory=list)  # changes.RowChange per valid row, file order
    calendar: Any = None  # storage.calendar.CalendarImport when the file had a calendar section

    @property
    def changed(self) -> int:
        """How many entities were created or updated."""
        return sum(self.created.values()) + sum(self.updated.values())


class DirectoryImportError(Exception):
    """The file had bad rows; nothing was written. `report.errors` lists every one."""

    def __init__(self, report: ImportReport) -> None:
        first = f"; first: {report.errors[0]}" if report.errors else ""
        super().__init__(f"{len(report.errors)} problem(s) in the directory file{first}")
        self.report = report
