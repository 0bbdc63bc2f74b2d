"""Is the working calendar complete for the deadlines lianxin computes now? (start-up, /healthz)"""

from __future__ import annotations

import logging

from bot.runtime import Runtime

log = logging.getLogger("lianxin.calendar")


def missing_years(rt: Runtime) -> list[int]:
    """Years that deadlines need but neither the office's data nor chinese_calendar covers."""
    from bot.jobs import handler_context
    from handlers import calendar_watch

    with rt.sessions() as session:
        return calendar_watch.missing_years(session, handler_context(rt, session))


def missing_reason(years: list[int]) -> str:
    """The operator-facing reason (English, like every log line)."""
    which = ", ".join(str(y) for y in years)
    return (
        f"no holiday data for {which}: deadlines reaching into it count Monday-Friday and are "
        "marked provisional; enter the State Council schedule with `lianxin calendar import` "
        "(docs/calendar.md)"
    )


def warn_at_start(rt: Runtime, process: str) -> None:
    """Log a warning when a needed year is uncovered; never stops the process from starting."""
    try:
        years = missing_years(rt)
    except Exception as exc:  # the database may still be starting; /healthz reports it
        log.warning("%s: calendar check skipped: %s", process, exc)
        return
    if years:
        log.warning("%s: %s", process, missing_reason(years))
