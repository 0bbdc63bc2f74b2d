"""Processes that heal: Redis stops mid-traffic, comes back, and everything recorded is
processed exactly once, by the same worker and scheduler processes (nobody restarts them)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.bot.outage_support import OutageRun

OUTAGE_SECONDS = float(os.environ.get("LIANXINTEST_OUTAGE_SECONDS", "6"))


@pytest.mark.slow
def test_redis_outage_mid_traffic_then_everything_once(
    tmp_path: Path,
    database_url: str,
    sessions: sessionmaker[Session],
    engine: object,
    model_cache_dir: Path,
):
    prefix = f"lxtest-heal-{uuid.uuid4().hex[:8]}"
    run = OutageRun(tmp_path, database_url, prefix, model_cache_dir)
    run.start()
    try:
        before = [f"before{i}" for i in range(5)]
        for key in before:
            run.record(key)
        run.wait_processed(before, 60)

        run.marker.unlink()
        run.record("midjob", seconds=3)  # Redis goes away while this job runs
        deadline = time.monotonic() + 60
        while not run.marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        run.redis.stop()
        during = [f"during{i}" for i in range(10)]
        for key in during:
            run.record(key)  # recorded in the inbox; not enqueued, Redis is down
            time.sleep(OUTAGE_SECONDS / len(during))
        assert run.alive() == {"worker": True, "scheduler": True}, run.logs()

        run.redis.start()  # empty: the queued jobs are gone; the sweeper finds the rows
        after = [f"after{i}" for i in range(5)]
        for key in after:
            run.record(key)
        everything = [*before, "midjob", *during, *after]
        run.wait_processed(everything, 60)
        time.sleep(3)  # several more sweeps: nothing may run a second time
        effects = run.effects()
        assert {k: effects[k] for k in everything} == dict.fromkeys(everything, 1)
        assert run.alive() == {"worker": True, "scheduler": True}, run.logs()
    finally:
        run.stop()
    for name in ("worker", "scheduler"):
        text = run.log(name).read_text()
        # one line when the outage began and one when it ended, not one per retry
        assert text.count(f"{name}: Redis unavailable") == 1, text[-3000:]
        assert text.count(f"{name}: connection is back") == 1, text[-3000:]
        assert "Traceback" not in text, text[-3000:]
