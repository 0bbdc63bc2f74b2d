"""Periodic jobs (registered with rq's cron scheduler by `lianxin scheduler`)."""

from __future__ import annotations

from collections.abc import Callable

from bot import runtime
from bot.config import Settings
from bot.duties_jobs import run_duties
from bot.pipeline.context import handler_context
from bot.pipeline.outbox_jobs import enqueue_sends
from bot.pipeline.sweeper import forget_old_nonces, sweep
from storage.outbox import take_new_outbox_ids


def _periodic(name: str) -> str:
    rt = runtime.current()
    from handlers import calendar_watch, escalation, rating
    from handlers.insight.brief_send import send_due_briefs

    step = {
        "escalation": escalation.run_due,
        "rating": rating.expire_unrated,
        "calendar": calendar_watch.warn_missing,
        "reasons": rating.notify_unexplained,
        "brief": send_due_briefs,
    }[name]
    with rt.sessions() as session, session.begin():
        count = step(session, handler_context(rt, session))
        new_ids = take_new_outbox_ids(session)
    enqueue_sends(rt, new_ids)
    return f"{name}: {count}"


def run_escalations() -> str:
    """Periodic: run every escalation step that is due (each exactly once)."""
    return _periodic("escalation")


def expire_ratings() -> str:
    """Periodic: close answered cases nobody rated within the rating window as 未评价."""
    return _periodic("rating")


def check_calendar() -> str:
    """Periodic: tell each office staff group once about a year without holiday data."""
    return _periodic("calendar")


def report_unexplained_ratings() -> str:
    """Periodic: tell handlers and staff of each 不满意 whose reason did not come in time."""
    return _periodic("reasons")


def send_briefs() -> str:
    """Periodic: last week's 热点专报 to each office group, once (Monday 09:00 or next workday)."""
    return _periodic("brief")


def PERIODIC(settings: Settings) -> list[tuple[Callable[[], object], int]]:  # noqa: N802
    """The periodic jobs and their intervals in seconds."""
    return [
        (sweep, settings.queue.sweep_seconds),
        (run_escalations, 60),
        (expire_ratings, 300),
        (check_calendar, 3600),
        (report_unexplained_ratings, 60),
        (send_briefs, 600),
        (run_duties, 300),
        (
            forget_old_nonces,
            3600,
        ),  # 代表履职: solicitation closes and reminders (bot/duties_jobs.py)
    ]
