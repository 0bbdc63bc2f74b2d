"""Periodic job of 代表履职: close solicitations at their deadline, send due reminders."""

from __future__ import annotations

from bot import runtime


def run_duties() -> str:
    """Periodic: every due close and reminder of a solicitation (each exactly once)."""
    from bot.jobs import enqueue_send, handler_context
    from handlers.duties import solicit
    from storage.outbox import take_new_outbox_ids

    rt = runtime.current()
    with rt.sessions() as session, session.begin():
        count = solicit.tick(session, handler_context(rt, session))
        new_ids = take_new_outbox_ids(session)
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    return f"duties: {count}"
