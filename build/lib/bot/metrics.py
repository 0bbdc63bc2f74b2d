"""Counters in Redis (shared by all processes) and the Prometheus text exposition."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from storage.models import InboxItem, OutboxItem

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
COUNTERS = {
    "inbox_duplicates": "Inbound events ignored as redeliveries",
    "inbox_processed": "Inbound events processed",
    "inbox_errors": "Inbound event processing errors",
    "outbox_sent": "Outbound messages sent",
    "outbox_errors": "Outbound send errors (each attempt)",
    "http_refused": "Callback requests refused (bad signature, malformed, oversized)",
}


def _key(rt: Runtime, name: str) -> str:
    return f"{rt.settings.redis.queue_prefix}:metrics:{name}"


def incr(rt: Runtime, name: str, amount: int = 1) -> None:
    """Add to a shared counter; metrics must never break the request that counts."""
    try:
        rt.redis.incrby(_key(rt, name), amount)
    except Exception as exc:
        log.debug("metric %s not counted: %s", name, exc)


def render(rt: Runtime) -> str:
    """All metrics in Prometheus text format."""
    lines: list[str] = []
    with rt.sessions() as session:
        for table, model in (("inbox", InboxItem), ("outbox", OutboxItem)):
            lines += [
                f"# HELP lianxin_{table}_rows Rows in the {table} by status",
                f"# TYPE lianxin_{table}_rows gauge",
            ]
            rows = session.execute(select(model.status, func.count()).group_by(model.status))
            for status, count in rows:
                lines.append(f'lianxin_{table}_rows{{status="{status}"}} {count}')
    for name, help_text in COUNTERS.items():
        value = _read(rt, name)
        lines += [
            f"# HELP lianxin_{name}_total {help_text}",
            f"# TYPE lianxin_{name}_total counter",
            f"lianxin_{name}_total {value}",
        ]
    lines += [
        "# HELP lianxin_queue_jobs Jobs waiting in each rq queue",
        "# TYPE lianxin_queue_jobs gauge",
    ]
    from bot.queue import ALL_QUEUES

    for name in ALL_QUEUES:
        try:
            lines.append(f'lianxin_queue_jobs{{queue="{name}"}} {rt.queue(name).count}')
        except Exception:
            lines.append(f'lianxin_queue_jobs{{queue="{name}"}} NaN')
    return "\n".join(lines) + "\n"


def _read(rt: Runtime, name: str) -> int:
    try:
        raw = rt.redis.get(_key(rt, name))
    except Exception:
        return 0
    return int(raw) if raw else 0
