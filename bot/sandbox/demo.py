"""The sandbox's service time for chat bubbles, and 重置沙盒 (a fresh demo).

Simulators stamp messages with wall time; the page shows them in service time (wall time plus
the 快进 offset in force when the message was sent) with their date, in the service's zone.
Each 快进 appends (wall time, new offset) to a history in KeyValue so earlier messages keep
their times. 重置沙盒 deletes every case-side row (cases, messages, inbox, outbox, notices …),
re-imports the example county, sets the clock back and clears the DingTalk chats; the
directory, the calendar and the kf link cache stay.
"""

from __future__ import annotations

import bisect
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

from bot.runtime import CLOCK_OFFSET_KEY, Runtime
from storage.models import Base, KeyValue

log = logging.getLogger(__name__)

HISTORY_KEY = "sandbox_clock_history"
# What a demo leaves behind: these tables, and every table that refers to one of them (found
# through foreign keys, so case-side tables added later are cleared too). The directory, the
# calendar, key-values (kf link cache, cursors), sessions and the audit log stay.
DEMO_TABLES = frozenset({"constituents", "cases", "messages", "inbox", "outbox", "notices"})
WEEKDAYS = "一二三四五六日"


def clock_history(session: Session) -> list[tuple[float, float]]:
    """(wall epoch seconds, offset from then on), oldest first."""
    row = session.get(KeyValue, HISTORY_KEY)
    if row is None:
        return []
    try:
        return [(float(a), float(b)) for a, b in json.loads(row.value)]
    except (ValueError, TypeError):
        return []


def record_offset(session: Session, offset: float, wall: float | None = None) -> None:
    """Remember that the offset is `offset` from `wall` (now) on."""
    history = clock_history(session)
    history.append((time.time() if wall is None else wall, offset))
    _put(session, HISTORY_KEY, json.dumps(history[-500:]))


def offset_at(history: list[tuple[float, float]], wall: float) -> float:
    """The offset in force at wall time `wall` (0 before the first 快进)."""
    i = bisect.bisect_right([w for w, _ in history], wall)
    return history[i - 1][1] if i else 0.0


def service_label(wall: float, history: list[tuple[float, float]], tz: ZoneInfo) -> str:
    """A message's service time with its date: 12月1日 周二 15:33."""
    t = datetime.fromtimestamp(wall, UTC) + timedelta(seconds=offset_at(history, wall))
    local = t.astimezone(tz)
    return f"{local.month}月{local.day}日 周{WEEKDAYS[local.weekday()]} {local:%H:%M}"


def label_messages(
    view: Any, history: list[tuple[float, float]], tz: ZoneInfo, *, key: str, scale: float
) -> None:
    """Add `time_label` to every message of a poll view (a list, or a dict with messages)."""
    items = view.get("messages") if isinstance(view, dict) else view
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, dict) and isinstance(item.get(key), int | float):
            item["time_label"] = service_label(item[key] / scale, history, tz)


def demo_tables() -> list[Table]:
    """The tables a reset empties, parents first: DEMO_TABLES and all that refer to them."""
    chosen = set(DEMO_TABLES)
    tables = Base.metadata.sorted_tables
    for table in tables:  # sorted: a table comes after every table it refers to
        if {fk.column.table.name for fk in table.foreign_keys} & chosen:
            chosen.add(table.name)
    return [t for t in tables if t.name in chosen]


def reset(rt: Runtime, directory: Path, clear_chats: Any) -> dict[str, int]:
    """Delete every case-side row, restore the example county and the clock; rows deleted."""
    from storage.directory import import_directory

    counts: dict[str, int] = {}
    with rt.sessions.begin() as session:
        for table in reversed(demo_tables()):  # children before parents
            result = session.execute(delete(table))
            counts[table.name] = int(getattr(result, "rowcount", 0) or 0)
        for key in (CLOCK_OFFSET_KEY, HISTORY_KEY):
            row = session.get(KeyValue, key)
            if row is not None:
                session.delete(row)
        session.flush()
        import_directory(session, directory)
    prefix = f"{rt.settings.redis.queue_prefix}:sandbox:phone:"
    try:
        for key in rt.redis.scan_iter(match=prefix + "*", count=500):
            rt.redis.delete(key)
    except Exception as exc:  # only the page's echo of what the user sent is kept there
        log.warning("sandbox: phone history not cleared: %s", exc)
    clear_chats()
    log.info("sandbox: reset (%s)", ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    return counts


def _put(session: Session, key: str, value: str) -> None:
    row = session.get(KeyValue, key)
    if row is None:
        session.add(KeyValue(key=key, value=value))
    else:
        row.value = value
