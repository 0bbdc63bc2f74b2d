"""Import a 12345 export: check and mask every row first, then write them all or none.

Reading, checking and masking happen outside any transaction and spool the masked records to
an anonymous temporary file (raw text is never written anywhere), so memory stays bounded for
100,000 rows and the database is locked only while the already-masked rows are written.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.hotline.mapping import Mapping
from handlers.hotline.masking import DATES, BatchMasker
from handlers.hotline.rows import Regions, RowChecker, RowError, Ticket
from handlers.hotline.sources import Sheet, open_sheet
from storage.hotline import TicketRecord, WriteCounts, upsert_tickets
from storage.models import Region

# progress(phase, done, total): phase is "check" (reading, checking, masking) or "write"
Progress = Callable[[str, int, int | None], None]


@dataclass
class HotlineReport:
    """What an import found and did; `errors` non-empty means nothing was written."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    unmapped: Counter[str] = field(default_factory=Counter)  # raw category path → rows
    uncategorised: int = 0  # rows with no 问题分类 at all
    ignored_columns: list[str] = field(default_factory=list)
    written: WriteCounts | None = None


class HotlineImportError(Exception):
    """Some rows were bad; nothing was written. `report.errors` lists every one."""

    def __init__(self, report: HotlineReport) -> None:
        first = f"; first: {report.errors[0]}" if report.errors else ""
        super().__init__(f"{len(report.errors)} bad row(s){first}")
        self.report = report


def load_regions(session: Session) -> Regions:
    """Our regions, for matching 所属乡镇/街道."""
    rows = session.execute(select(Region.id, Region.code, Region.name).order_by(Region.id))
    return Regions.of([(int(i), str(c), str(n)) for i, c, n in rows])


class Prepared:
    """Checked, masked records spooled to a temporary file, ready to write."""

    def __init__(self, report: HotlineReport, spool: IO[bytes]) -> None:
        self.report = report
        self._spool = spool

    def records(self) -> Iterator[TicketRecord]:
        """The spooled records in file order."""
        self._spool.seek(0)
        for line in self._spool:
            data: dict[str, Any] = json.loads(line)
            for key in DATES:
                if data[key] is not None:
                    data[key] = datetime.fromisoformat(data[key])
            yield TicketRecord(**data)

    def close(self) -> None:
        """Delete the spool."""
        self._spool.close()

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare(
    path: Path,
    *,
    mapping: Mapping,
    regions: Regions,
    hash_key: bytes,
    tz: ZoneInfo,
    progress: Progress | None = None,
    workers: int = 1,
    parallel_from: int = 2_000,
) -> Prepared:
    """Read, check and mask every row; HotlineImportError (listing every bad row) if any is bad.

    Files of about `parallel_from` rows or more are masked by `workers` processes.
    Raises SourceError when the file itself cannot be read.
    """
    checker = RowChecker(mapping, regions, tz)
    report = HotlineReport()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (Prepared owns and closes it)
    try:
        with open_sheet(Path(path)) as sheet:
            large = sheet.total is not None and sheet.total >= parallel_from
            with closing(BatchMasker(hash_key, workers if large else 1)) as masker:
                _check_rows(sheet, checker, masker, report, spool, progress)
        if progress is not None:
            progress("check", report.rows, report.rows)
    except BaseException:
        spool.close()
        raise
    if report.errors:
        spool.close()
        raise HotlineImportError(report)
    return Prepared(report, spool)


def _check_rows(
    sheet: Sheet,
    checker: RowChecker,
    masker: BatchMasker,
    report: HotlineReport,
    spool: IO[bytes],
    progress: Progress | None,
) -> None:
    report.ignored_columns = sheet.columns.ignored
    index = sheet.columns.index
    for row, cells in sheet.rows:
        if not any(c is not None and str(c).strip() for c in cells):
            continue
        got = checker.check(
            row, {f: cells[i] if i < len(cells) else None for f, i in index.items()}
        )
        report.rows += 1
        if isinstance(got, RowError):
            report.errors.append(got)
        elif not report.errors:  # after the first error, only keep checking
            _count_category(report, got)
            for lines in masker.add(got):
                spool.write(lines)
        if progress is not None and report.rows % 200 == 0:
            progress("check", report.rows, sheet.total)
    if not report.errors:
        for lines in masker.finish():
            spool.write(lines)


def write(
    session: Session, prepared: Prepared, *, now: datetime, progress: Progress | None = None
) -> HotlineReport:
    """Upsert the prepared records in the caller's transaction."""
    total = prepared.report.rows

    def step(done: int) -> None:
        if progress is not None:
            progress("write", done, total)

    prepared.report.written = upsert_tickets(session, prepared.records(), now=now, progress=step)
    return prepared.report


def _count_category(report: HotlineReport, t: Ticket) -> None:
    if t.raw_category is None:
        report.uncategorised += 1
    elif t.category is None:
        report.unmapped[t.raw_category] += 1
