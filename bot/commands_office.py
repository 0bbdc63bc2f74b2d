"""Commands for the office's own data: directory import/export and the working calendar."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from bot.commands import _sessions
from bot.config import Settings
from storage.directory.report import ImportReport, RowError


def cmd_directory_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a directory file; nothing is written when any row is bad (or with --dry-run)."""
    from storage.directory import DirectoryImportError, import_directory

    def progress(section: str, done: int, total: int) -> None:
        if sys.stdout.isatty() and not args.dry_run:
            print(f"\r  {section}: {done}/{total}", end="" if done < total else "\n", flush=True)

    try:
        with _sessions(settings)() as session:
            report = import_directory(session, args.file, progress=progress, dry_run=args.dry_run)
            if args.dry_run:
                session.rollback()
            else:
                if report.calendar is not None:
                    refresh_provisional_deadlines(settings, session)
                session.commit()
    except DirectoryImportError as exc:
        _print_warnings(exc.report.warnings)
        problems = exc.report.errors
        print(f"{args.file}: nothing imported, {len(problems)} problem(s):", file=sys.stderr)
        for err in problems:
            print(f"  {err}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    _print_warnings(report.warnings)
    _print_report(report, dry_run=args.dry_run)
    return 0


def _print_warnings(warnings: list[RowError]) -> None:
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def _print_report(report: ImportReport, *, dry_run: bool) -> None:
    if dry_run:
        print("dry run: nothing written; this import would:")
        for line in report.changes or ["change nothing"]:
            print(f"  {line}")
    for label, counts in (
        ("created", report.created),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
    ):
        counted = {k: v for k, v in counts.items() if v}
        if counted:
            prefix = "would be " if dry_run else ""
            print(f"{prefix}{label}: " + ", ".join(f"{k} {v}" for k, v in counted.items()))
    if report.calendar is not None:
        _print_calendar(report.calendar, dry_run=dry_run)


def cmd_directory_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the deputy list (.xlsx/.csv, as offices keep it) or the whole directory (.yaml)."""
    from storage.directory import export_directory
    from storage.directory.roster import roster_csv, roster_table, write_roster

    out: Path | None = args.out
    with _sessions(settings)() as session:
        if out is not None and out.suffix.lower() in (".yaml", ".yml"):
            data = export_directory(session)
            out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
        else:
            table = roster_table(session)
            if out is None:
                sys.stdout.write(roster_csv(table))
                return 0
            try:
                write_roster(table, out)
            except ValueError as exc:
                print(f"lianxin: {exc}", file=sys.stderr)
                return 1
    print(f"wrote {out}")
    return 0


# ---------------------------------------------------------------- calendar


def cmd_calendar_import(args: argparse.Namespace, settings: Settings) -> int:
    """Store the holidays and 调休 workdays of a calendar file (all or nothing)."""
    from storage.calendar import import_calendar, read_calendar

    try:
        parsed = read_calendar(args.file)
    except (OSError, ValueError) as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    with _sessions(settings)() as session:
        result = import_calendar(session, parsed, args.file.name, dry_run=args.dry_run)
        if result.errors:
            session.rollback()
            print(
                f"{args.file}: nothing imported, {len(result.errors)} problem(s):", file=sys.stderr
            )
            for err in result.errors:
                print(f"  {err}", file=sys.stderr)
            return 1
        if args.dry_run:
            session.rollback()
        else:
            refreshed = refresh_provisional_deadlines(settings, session)
            session.commit()
            if refreshed:
                print(f"re-timed {refreshed} open case(s) whose deadlines were provisional")
    _print_calendar(result, dry_run=args.dry_run)
    return 0


def _print_calendar(result: object, *, dry_run: bool) -> None:
    from storage.calendar import CalendarImport

    assert isinstance(result, CalendarImport)
    prefix = "would be " if dry_run else ""
    for label, years in (
        ("created", result.created),
        ("replaced", result.replaced),
        ("unchanged", result.unchanged),
    ):
        if years:
            print(f"calendar {prefix}{label}: " + ", ".join(str(y) for y in years))


def refresh_provisional_deadlines(settings: Settings, session: Session) -> int:
    """Re-time open cases whose deadlines were provisional (after new calendar data)."""
    from bot.pipeline.context import build_context
    from bot.runtime import clock_offset
    from handlers.calendar_watch import refresh_provisional
    from storage.timeutil import utcnow

    now = utcnow() + timedelta(seconds=clock_offset(session))
    session.flush()
    return refresh_provisional(session, build_context(settings, session, now))


def cmd_calendar_status(args: argparse.Namespace, settings: Settings) -> int:
    """Which years are covered, from where; which years deadlines need but nobody covers."""
    from bot.pipeline.context import build_context
    from bot.runtime import clock_offset
    from handlers.calendar_watch import missing_years
    from handlers.workcal import LIBRARY_YEARS
    from storage.calendar import stored_years
    from storage.timeutil import utcnow

    with _sessions(settings)() as session:
        infos = stored_years(session)
        now = utcnow() + timedelta(seconds=clock_offset(session))
        missing = missing_years(session, build_context(settings, session, now))
    if LIBRARY_YEARS:
        span = f"{min(LIBRARY_YEARS)}–{max(LIBRARY_YEARS)}"
        print(f"library (chinesecalendar {_library_version()}): {span}")
    for info in infos:
        print(
            f"office: {info.year} from {info.source}, imported {info.imported_at:%Y-%m-%d %H:%M} "
            f"UTC ({info.holidays} holidays, {info.workdays} 调休 workdays)"
            + (f" — {info.note}" if info.note else "")
        )
    if not infos:
        print("office: no years imported (lianxin calendar import FILE)")
    if missing:
        years = ", ".join(str(y) for y in missing)
        print(f"MISSING: {years} — deadlines reaching into it are provisional (docs/calendar.md)")
        return 1
    print("every year deadlines need now is covered")
    return 0


def _library_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinesecalendar")
    except PackageNotFoundError:
        return "?"
