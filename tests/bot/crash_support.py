"""Loaded into a real `lianxin worker` process by test_worker_crash: a slow, countable job.

Run as: python -c "import tests.bot.crash_support" worker  (see `main` below).
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

from sqlalchemy.orm import Session

from bot.cli import main as lianxin_main
from bot.pipeline.registry import processor
from bot.runtime import Runtime
from storage.models import InboxItem, KeyValue

SOURCE = "test_slow"


@processor(SOURCE)
def slow_effect(rt: Runtime, session: Session, item: InboxItem) -> None:
    """Write one effect row per execution, signal that we are mid-job, then dawdle."""
    session.add(KeyValue(key=f"effect:{item.key}:{uuid.uuid4().hex}", value="1"))
    session.flush()
    marker, seconds = item.payload.split("|")
    Path(marker).write_text("started")
    time.sleep(float(seconds))


if __name__ == "__main__":
    sys.exit(lianxin_main(sys.argv[1:]))
