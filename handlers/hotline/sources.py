"""Stream the rows of a hotline export (.xlsx read-only, or .csv in UTF-8 or GB18030)."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from handlers.hotline.columns import HEADER_SEARCH_ROWS, Columns, find_header

_SNIFF_BYTES = 1 << 20


class SourceError(ValueError):
    """The file cannot be read as a hotline export; nothing was imported."""


@dataclass
class Sheet:
    """The header found and an iterator of (row number, cells) below it."""

    columns: Columns
    rows: Iterator[tuple[int, list[Any]]]
    total: int | None  # data rows, approximately (for the progress bar)


@contextmanager
def open_sheet(path: Path) -> Iterator[Sheet]:
    """Open an export and find its header; SourceError when either fails."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        with _xlsx_rows(path) as (rows, total):
            yield _sheet(rows, total)
    elif suffix == ".csv":
        with _csv_rows(path) as (rows, total):
            yield _sheet(rows, total)
    else:
        raise SourceError(f"unsupported file type {suffix or '(none)'!r}: use .xlsx or .csv")


def _sheet(rows: Iterator[list[Any]], total: int | None) -> Sheet:
    numbered = enumerate(rows, start=1)
    top = list(islice(numbered, HEADER_SEARCH_ROWS))
    columns = find_header([cells for _, cells in top])
    if columns is None:
        raise SourceError("no header row naming a 工单编号 column in the first rows")
    if columns.problems:
        raise SourceError(f"header (row {columns.header_row}): " + "; ".join(columns.problems))
    rest = (r for r in top if r[0] > columns.header_row)

    def below() -> Iterator[tuple[int, list[Any]]]:
        yield from rest
        yield from numbered

    remaining = None if total is None else max(0, total - columns.header_row)
    return Sheet(columns, below(), remaining)


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[tuple[Iterator[list[Any]], int | None]]:
    import openpyxl  # imported here: only spreadsheet imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise SourceError(f"not a readable .xlsx workbook: {exc}") from exc
    try:
        sheet = book.worksheets[0]
        total = sheet.max_row if isinstance(sheet.max_row, int) else None
        yield (list(r) for r in sheet.iter_rows(values_only=True)), total
    finally:
        book.close()


@contextmanager
def _csv_rows(path: Path) -> Iterator[tuple[Iterator[list[Any]], int | None]]:
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
            total = head.count(b"\n") + sum(
                chunk.count(b"\n") for chunk in iter(lambda: fh.read(_SNIFF_BYTES), b"")
            )
    except OSError as exc:
        raise SourceError(str(exc)) from exc
    encoding = _encoding(head)
    with path.open(encoding=encoding, newline="", errors="strict") as text:
        first = text.readline()
        text.seek(0)
        delimiter = "\t" if "\t" in first and "," not in first else ","
        yield _decoded(csv.reader(text, delimiter=delimiter), encoding), total


def _encoding(head: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the sniff boundary is fine
    except UnicodeDecodeError:
        return "gb18030"  # Excel on Chinese Windows saves "CSV" in the ANSI code page
    return "utf-8-sig"


def _decoded(reader: Iterator[list[str]], encoding: str) -> Iterator[list[Any]]:
    try:
        yield from reader
    except UnicodeDecodeError as exc:
        raise SourceError(f"the CSV file is not {encoding} text throughout") from exc
