"""`lianxin hotline import`: 12345 work orders in, masked, all or nothing (docs/hotline.md)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.progress import ProgressBar

if TYPE_CHECKING:
    from handlers.hotline import HotlineReport

KEY_FILE = "privacy_hash_key"
_SHOW_ERRORS = 200  # more than this and the operator needs the summary, not a wall of text
_SHOW_UNMAPPED = 20


class HashKeyMissing(Exception):
    """A configured database needs [privacy] hash_key; a key made on one host would not match."""


def hash_key(settings: Settings) -> bytes:
    """The HMAC key for callers' phones: configured, or for the embedded default kept under var/."""
    raw = settings.privacy.hash_key.get_secret_value()
    if raw:
        return raw.encode("utf-8")
    if settings.database.url:
        raise HashKeyMissing(
            "set [privacy] hash_key (or LIANXIN_PRIVACY__HASH_KEY) before importing: "
            "with a configured database every host must hash callers with the same key"
        )
    path = Path(settings.var_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text("ascii").strip().encode("utf-8")
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path.read_text("ascii").strip().encode("utf-8")


def cmd_hotline_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a 12345 export; nothing is written when any row is bad."""
    from bot.commands import _sessions
    from handlers import hotline
    from storage.timeutil import utcnow

    name = args.file
    try:
        key = hash_key(settings)
        mapping = hotline.load_mapping(args.mapping)
    except (HashKeyMissing, hotline.MappingError, OSError) as exc:
        print(f"lianxin: nothing imported: {exc}", file=sys.stderr)
        return 1
    sessions = _sessions(settings)
    with sessions() as session:
        regions = hotline.load_regions(session)
    bar = ProgressBar({"check": "checking and masking", "write": "writing"})
    try:
        prepared = hotline.prepare(
            args.file,
            mapping=mapping,
            regions=regions,
            hash_key=key,
            tz=ZoneInfo(settings.sla.timezone),
            progress=bar,
            workers=max(1, args.workers or min(4, os.cpu_count() or 1)),
        )
    except hotline.HotlineImportError as exc:
        bar.finish()
        _print_errors(name, exc.report, args.all_errors)
        return 1
    except (hotline.SourceError, OSError) as exc:
        bar.finish()
        print(f"{name}: nothing imported: {exc}", file=sys.stderr)
        return 1
    with prepared, sessions.begin() as session:
        report = hotline.write(session, prepared, now=utcnow(), progress=bar)
    bar.finish()
    _print_summary(name, report)
    return 0


def _print_errors(name: Path, report: HotlineReport, show_all: bool) -> None:
    errors = report.errors
    shown = errors if show_all else errors[:_SHOW_ERRORS]
    print(f"{name}: nothing imported, {len(errors)} bad row(s):", file=sys.stderr)
    for err in shown:
        print(f"  {err}", file=sys.stderr)
    if len(errors) > len(shown):
        print(f"  … and {len(errors) - len(shown)} more (--all-errors lists them)", file=sys.stderr)


def _print_summary(name: Path, report: HotlineReport) -> None:
    w = report.written
    if w is not None:
        print(
            f"{name}: {report.rows} work order(s): {w.created} created, {w.updated} updated, "
            f"{w.unchanged} unchanged"
        )
    if report.unmapped:
        rows = sum(report.unmapped.values())
        print(
            f"{rows} row(s) in {len(report.unmapped)} 问题分类 path(s) have no category mapping; "
            "their category is left empty (map them under categories: in --mapping):",
            file=sys.stderr,
        )
        for path, count in report.unmapped.most_common(_SHOW_UNMAPPED):
            print(f"  {count:>7}  {path}", file=sys.stderr)
        if len(report.unmapped) > _SHOW_UNMAPPED:
            print(f"  … and {len(report.unmapped) - _SHOW_UNMAPPED} more paths", file=sys.stderr)
    if report.uncategorised:
        print(f"{report.uncategorised} row(s) have no 问题分类", file=sys.stderr)
    if report.ignored_columns:
        print(
            "columns not read (never stored): " + "、".join(report.ignored_columns),
            file=sys.stderr,
        )
