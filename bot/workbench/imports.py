"""The admin's imports: upload, dry-run preview, confirm — through the CLI's own import code.

`lianxin directory import` and `lianxin calendar import` call `storage.directory.import_directory`
and `storage.calendar.import_calendar`; so do these, with the same files, so the validation,
header aliases, duplicate refusal and all-or-nothing rule are the same. The preview is the
importer's dry run; the confirm imports the very file previewed (claimed once, see uploads).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.commands_office import refresh_provisional_deadlines
from bot.workbench import uploads
from bot.workbench.common import admin_refusal, audit, db, login, page, runtime
from handlers import texts
from storage.directory.report import RowError
from storage.directory.rows import WEEKDAYS

_DAY_LABELS = dict(zip(WEEKDAYS, texts.WEEKDAY_LABELS, strict=True))
ROSTER_SUFFIXES = (".xlsx", ".csv", ".yaml", ".yml")
CALENDAR_SUFFIXES = (".yaml", ".yml")


@dataclass
class Outcome:
    """What the import page shows: a preview, a refusal, or the result of a confirm."""

    kind: str  # directory | calendar
    message: str = ""
    ok: bool = False
    staged: uploads.Staged | None = None  # set on a preview that may be confirmed
    rows: list[Any] = field(default_factory=list)  # storage.directory.changes.RowChange
    problems: list[tuple[RowError, str, str]] = field(default_factory=list)  # why, original
    # (section, row) -> the Chinese explanations of that row's problems
    refused_rows: dict[tuple[str, int | str], list[str]] = field(default_factory=dict)
    warnings: list[RowError] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    years: dict[str, list[int]] = field(default_factory=dict)  # calendar: created/replaced/...
    schedule: list[tuple[int, str, str, str]] = field(default_factory=list)  # year, day, kind, name


def shown(field_name: str, value: Any) -> str:
    """A directory value as the preview shows it (phones masked, codes and flags in Chinese)."""
    from handlers.workbench.directory import masked_phone

    if value in (None, "", [], {}):
        return "（空）"
    if field_name == "phone":
        return masked_phone(str(value))
    if field_name == "level":
        return texts.LEVEL_LABELS.get(str(value), str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        parts = []
        for key, inner in value.items():
            if isinstance(inner, list):  # duty: {station: [mon, ...]}
                inner = "、".join(_DAY_LABELS.get(str(d), str(d)) for d in inner)
            parts.append(f"{key}：{inner}" if inner not in (None, "") else str(key))
        return "；".join(parts)
    return str(value)


def upload_limit() -> str | None:
    """Allow an import-sized body on this request (the app's default is small); read it.

    Returns the Chinese refusal when the body is larger still (before any check reads the form).
    """
    limit = runtime().settings.workbench.upload_max_bytes
    request.max_content_length = limit
    try:
        request.form  # noqa: B018  (parses the body once, under the raised limit)
    except RequestEntityTooLarge:
        return texts.admin_too_big(limit // 1024)
    return None


def read_upload(kind: str, suffixes: tuple[str, ...]) -> tuple[str, str, bytes] | str:
    """(file name, suffix, bytes) of the uploaded file, or the Chinese reason it is refused."""
    file = request.files.get("file")
    if file is None or not file.filename:
        return texts.ADMIN_NO_FILE
    name = Path(file.filename).name
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        return texts.ADMIN_ROSTER_TYPE if kind == "directory" else texts.ADMIN_CALENDAR_TYPE
    return name, suffix, file.read()


_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")


def problems(errors: list[RowError]) -> list[tuple[RowError, str, str]]:
    """Each problem with its Chinese explanation and its original text, phones masked."""
    from handlers.workbench.directory import masked_phone

    return [
        (e, texts.explain_problem(e.reason), _PHONE.sub(lambda m: masked_phone(m[0]), e.reason))
        for e in errors
    ]


def _counts(report: Any) -> dict[str, dict[str, int]]:
    return {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}


def directory_import(staged: uploads.Staged, *, dry_run: bool) -> Outcome:
    """Run `import_directory` on the staged file (a dry run for the preview)."""
    from storage.directory import DirectoryImportError, import_directory

    out = Outcome("directory")
    try:
        report = import_directory(db(), staged.path, dry_run=dry_run)
    except DirectoryImportError as exc:
        out.problems, out.warnings = problems(exc.report.errors), exc.report.warnings
        out.rows = exc.report.rows  # the valid rows, shown with the refused ones marked
        for error, why, _said in out.problems:
            out.refused_rows.setdefault((error.source, error.row), []).append(why)
        out.message = texts.admin_refused(len(exc.report.errors))
        audit("directory_import_refused", staged.name, problems=len(exc.report.errors))
        return out
    except (OSError, ValueError) as exc:
        out.message = texts.admin_unreadable(str(exc))
        out.problems = problems([RowError(staged.name, "—", str(exc))])
        audit("directory_import_refused", staged.name, problems=1)
        return out
    out.ok, out.rows, out.warnings, out.counts = True, report.rows, report.warnings, _counts(report)
    changed = report.changed
    if dry_run:
        out.staged = staged
        out.message = "" if changed or report.calendar else texts.ADMIN_NOTHING_CHANGED
        audit("directory_import_preview", staged.name, rows=len(report.rows), sha256=staged.sha256)
        return out
    if report.calendar is not None:
        refresh_provisional_deadlines(runtime().settings, db())
    unchanged = sum(report.unchanged.values())
    out.message = texts.admin_imported(
        sum(report.created.values()), sum(report.updated.values()), unchanged
    )
    audit(
        "directory_import",
        staged.name,
        rows=changed,
        sha256=staged.sha256,
        created=report.created,
        updated=report.updated,
    )
    return out


def calendar_import(staged: uploads.Staged, *, dry_run: bool) -> Outcome:
    """Run `import_calendar` on the staged file (a dry run for the preview)."""
    from storage.calendar import import_calendar, read_calendar

    out = Outcome("calendar")
    try:
        parsed = read_calendar(staged.path)
    except (OSError, ValueError) as exc:
        out.message = texts.admin_unreadable(str(exc))
        out.problems = problems([RowError(staged.name, "—", str(exc))])
        audit("calendar_import_refused", staged.name, problems=1)
        return out
    result = import_calendar(db(), parsed, staged.name, dry_run=dry_run)
    if result.errors:
        out.problems = problems(result.errors)
        out.message = texts.admin_refused(len(result.errors))
        audit("calendar_import_refused", staged.name, problems=len(result.errors))
        return out
    out.ok = True
    out.years = {"created": result.created, "replaced": result.replaced}
    out.years["unchanged"] = result.unchanged
    for year, schedule in sorted(parsed.years.items()):
        for day, name in sorted(schedule.holidays.items()):
            out.schedule.append((year, day.isoformat(), "holiday", name))
        for day, wname in sorted(schedule.workdays.items()):
            out.schedule.append((year, day.isoformat(), "workday", wname or ""))
    out.schedule.sort(key=lambda r: r[1])
    if dry_run:
        out.staged = staged
        audit("calendar_import_preview", staged.name, sha256=staged.sha256)
        return out
    db().flush()
    refresh_provisional_deadlines(runtime().settings, db())
    years = [*result.created, *result.replaced]
    out.message = texts.admin_calendar_imported(
        "、".join(f"{y}年" for y in years) if years else "各年份均无变化"
    )
    audit("calendar_import", staged.name, rows=len(years), sha256=staged.sha256, years=years)
    return out


def stage_upload(kind: str, suffixes: tuple[str, ...]) -> uploads.Staged | str:
    """Keep the uploaded file for preview and confirm, or the Chinese reason it is refused."""
    got = read_upload(kind, suffixes)
    if isinstance(got, str):
        return got
    name, suffix, data = got
    return uploads.stage(runtime(), login().viewer, kind, name, suffix, data)


Page = str | tuple[str, int]


def _importer(kind: str) -> tuple[Callable[..., Outcome], tuple[str, ...]]:
    """The import function and the accepted file suffixes of `kind`."""
    if kind == "directory":
        return directory_import, ROSTER_SUFFIXES
    return calendar_import, CALENDAR_SUFFIXES


def preview(kind: str, **shown_with: object) -> Page:
    """An import's upload route: size limit, admin check, then the dry run's preview page.

    A GET shows the empty upload form; `shown_with` goes to the template with an outcome.
    """
    too_big = upload_limit()
    if too_big and login().viewer.is_admin:
        return page("admin_import.html", kind=kind, outcome=None, error=too_big), 413
    refused = admin_refusal(f"{kind} import", post=request.method == "POST")
    if refused:
        return refused
    if request.method == "GET":
        return page("admin_import.html", kind=kind, outcome=None)
    run, suffixes = _importer(kind)
    staged = stage_upload(kind, suffixes)
    if isinstance(staged, str):
        return page("admin_import.html", kind=kind, outcome=None, error=staged), 400
    outcome = run(staged, dry_run=True)
    if outcome.staged is None:
        uploads.discard(staged)
    return page("admin_import.html", kind=kind, outcome=outcome, **shown_with)


def confirm(kind: str, **shown_with: object) -> Page:
    """An import's confirm route: imports the previewed file once (or cancels it)."""
    refused = admin_refusal(f"{kind} import confirm", post=True)
    if refused:
        return refused
    token = request.form.get("token", "")
    staged = uploads.claim(runtime(), login().viewer, kind, token)
    if staged is None:
        error = texts.ADMIN_PREVIEW_EXPIRED
        return page("admin_import.html", kind=kind, outcome=None, error=error), 409
    try:
        if request.form.get("verb") == "cancel":
            audit(f"{kind}_import_cancelled", staged.name)
            return page("admin_import.html", kind=kind, outcome=None)
        outcome = _importer(kind)[0](staged, dry_run=False)
    finally:
        uploads.discard(staged)
    return page("admin_import.html", kind=kind, outcome=outcome, **shown_with)
