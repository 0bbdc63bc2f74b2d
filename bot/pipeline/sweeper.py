"""The safety net: wake conversations and sends that nobody is working on.

A wake-up lost with Redis, a worker killed mid-row (its lease runs out), a retry whose delayed
wake-up was lost: the conversation's head is claimable and old, so it is woken again. Waking a
conversation twice is harmless (the second job finds the head held or nothing to do).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import runtime
from bot.pipeline.outbox_jobs import enqueue_sends
from bot.pipeline.wake import wake
from storage.inbox import claimable_conversations, prune_nonces
from storage.outbox import due_outbox_ids
from storage.timeutil import utcnow

log = logging.getLogger(__name__)
NONCE_KEEP = timedelta(days=1)  # well past any replay window; WeCom retries within seconds


def forget_old_nonces() -> int:
    """Periodic: drop nonces older than a day (and twice the replay window) from the inbox;
    kept for ever when the window is off, as then the nonce is the only replay guard."""
    rt = runtime.current()
    window = rt.settings.wecom.replay_window_seconds
    if not window:
        return 0
    keep = max(NONCE_KEEP, timedelta(seconds=2 * window))
    with rt.sessions() as session, session.begin():
        forgotten = prune_nonces(session, received_before=utcnow() - keep)
    if forgotten:
        log.info("forgot %d inbox nonces older than %s", forgotten, keep)
    return forgotten


def sweep() -> dict[str, int]:
    """Periodic: re-wake stalled conversations and re-enqueue due outbox rows."""
    rt = runtime.current()
    now = utcnow()
    with rt.sessions() as session:
        conversations = claimable_conversations(
            session, older_than=now - timedelta(seconds=rt.settings.queue.sweep_seconds), now=now
        )
        outbox_ids = due_outbox_ids(session, now=now)
    wake(rt, conversations)
    enqueue_sends(rt, outbox_ids)
    return {"inbox": len(conversations), "outbox": len(outbox_ids)}
