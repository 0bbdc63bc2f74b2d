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
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.hotline.caller import caller_hash, scrub_known
from handlers.hotline.mapping import Mapping
from handlers.hotline.rows import Regions, RowChecker, RowError, Ticket
from handlers.hotline.sources import open_sheet
from handlers.privacy import mask_text
from storage.hotline import TicketRecord, WriteCounts, upsert_tickets
from storage.models import Region

# progress(phase, done, total): phase is "check" (reading, checking, masking) or "write"
Progress = Callable[[str, int, int | None], None]
_DATES = ("called_at", "closed_at")


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
            for key in _DATES:
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
) -> Prepared:
    """Read, check and mask every row; HotlineImportError (listing every bad row) if any is bad.

    Raises SourceError when the file itself cannot be read.
    """
    checker = RowChecker(mapping, regions, tz)
    memo = _Memo()
    report = HotlineReport()
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (Prepared owns and closes it)
    try:
        with open_sheet(Path(path)) as sheet:
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
                    spool.write(_line(masked(got, hash_key, memo)))
                if progress is not None and report.rows % 200 == 0:
                    progress("check", report.rows, sheet.total)
        if progress is not None:
            progress("check", report.rows, report.rows)
    except BaseException:
        spool.close()
        raise
    if report.errors:
        spool.close()
        raise HotlineImportError(report)
    return Prepared(report, spool)


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


class _Memo:
    """mask_text of repeated strings (units, templated answers) computed once per import."""

    def __init__(self, limit: int = 20_000, longest: int = 200) -> None:
        self.limit, self.longest = limit, longest
        self.known: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        found = self.known.get(text)
        if found is None:
            found = mask_text(text)
            if len(text) <= self.longest and len(self.known) < self.limit:
                self.known[text] = found
        return found


def masked(t: Ticket, hash_key: bytes, memo: Callable[[str], str] = mask_text) -> TicketRecord:
    """The stored form of a ticket: text masked, the caller's own name and phone starred too."""

    def clean(s: str | None) -> str | None:
        return None if s is None else scrub_known(memo(s), t.caller_name, t.caller_phone)

    return TicketRecord(
        ticket_no=t.ticket_no,
        called_at=t.called_at,
        text=clean(t.content) or "",
        status=t.status,
        raw_status=t.raw_status,
        address=clean(t.address),
        region_id=t.region_id,
        raw_category=t.raw_category,
        category=t.category,
        nature=t.nature,
        handling_unit=clean(t.handling_unit),
        closed_at=t.closed_at,
        answer=clean(t.answer),
        resolved=t.resolved,
        satisfied=t.satisfied,
        caller_hash=caller_hash(hash_key, t.caller_phone) if t.caller_phone else None,
    )


def _count_category(report: HotlineReport, t: Ticket) -> None:
    if t.raw_category is None:
        report.uncategorised += 1
    elif t.category is None:
        report.unmapped[t.raw_category] += 1


def _line(record: TicketRecord) -> bytes:
    data = asdict(record)
    for key in _DATES:
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"
