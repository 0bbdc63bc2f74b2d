"""Directory import and export: regions, stations, deputies, leaves, staff, departments, scenes.

`import_directory` reads a YAML directory (every section) or a CSV/XLSX deputy list, checks
every row, and only then writes. Semantics, in short (examples/directory.yaml says more):

- Entities are matched by `code` (scenes by `scene`, leaves by deputy + `from`) and updated in
  place, so their ids and everything pointing at them (cases, events) survive a re-import.
- A key a row gives replaces that field (an empty value clears it); a key a row leaves out
  keeps the stored value. A deputy's `stations` replace their memberships and `duty` replaces
  their roster; changing `stations` alone drops duty at stations they left.
- Nothing is ever deleted: entities the file does not mention are left alone. Set
  `active: false` to retire a deputy.
- All or nothing: any bad row raises `DirectoryImportError` (every problem listed, with
  section, row and YAML line) before anything is written; writes happen in a savepoint.
- Idempotent: importing the same file again changes nothing and reports all rows unchanged.

CSV/XLSX deputy lists (what offices keep in Excel) have one deputy per row under a header
whose spellings come from data/header_aliases.yaml: 编号, 姓名, 钉钉ID/钉钉账号, 层级,
手机号/电话, 所属联络站/联络站 (station codes or names, split by ; 、 or ,), 值班
(`dh01:周一,周三;gm01:周五`, or just `周一至周五` for a deputy with one station), 是否在任.
Columns an office keeps for itself (序号, 性别, 职务, 备注 ...) are ignored; other unknown
columns are ignored with a warning. Title rows above the header are skipped, UTF-8 (with or
without BOM) and GBK CSV are read. A column that is missing leaves that field alone; an empty
cell clears it. Rows are numbered as the sheet shows them (header = row 1). Without a 编号 a
row means the stored deputy with its DingTalk id or phone (see identity.py); phones must be
mobiles or landlines. A YAML directory may also carry a `calendar:` section (storage.calendar).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from storage.directory.apply import ApplyFailed, Writer
from storage.directory.changes import describe_changes, describe_rows
from storage.directory.checks import check_plan
from storage.directory.plan import build_plan
from storage.directory.report import DirectoryImportError, ImportReport, RowError
from storage.directory.rows import SECTIONS
from storage.directory.snapshot import export_directory, load_snapshot
from storage.directory.sources import read_source

__all__ = [
    "DirectoryImportError",
    "ImportReport",
    "RowError",
    "export_directory",
    "import_directory",
]


def import_directory(
    session: Session,
    path: Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Check then upsert a directory file; raises DirectoryImportError, writing nothing, if bad.

    The caller owns the transaction (and commits); the writes run inside a savepoint, which
    `dry_run` rolls back, so the report says what would change and nothing stays written.
    `progress(section, done, total)` is called after each row is written.
    """
    from storage.calendar import import_calendar, parse_calendar  # it imports our report

    source = read_source(Path(path))
    report = ImportReport(errors=list(source.errors), warnings=list(source.warnings))
    snap = load_snapshot(session)
    plan = build_plan(source, snap, report.errors)
    check_plan(plan, report.errors)
    calendar = parse_calendar(source.calendar) if source.calendar is not None else None
    if calendar is not None:
        report.errors.extend(calendar.errors)
    report.rows = describe_rows(plan)  # also on refusal: the workbench shows every row's fate
    if report.errors:
        report.errors.sort(key=_error_order)
        raise DirectoryImportError(report)
    report.changes = describe_changes(plan)
    try:
        with session.begin_nested() as savepoint:
            Writer(session, snap).apply(plan, report, progress)
            if calendar is not None:
                report.calendar = import_calendar(session, calendar, Path(path).name)
                if report.calendar.errors:
                    raise DirectoryImportError(ImportReport(errors=report.calendar.errors))
            if dry_run:
                savepoint.rollback()
    except ApplyFailed as exc:
        failed = ImportReport(errors=[exc.error])
        raise DirectoryImportError(failed) from exc
    return report


def _error_order(error: RowError) -> tuple[int, int, int]:
    section = SECTIONS.index(error.source) if error.source in SECTIONS else -1
    return (section, error.row if isinstance(error.row, int) else 0, error.line or 0)
