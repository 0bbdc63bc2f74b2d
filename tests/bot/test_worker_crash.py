"""A real worker process killed mid-job: after a restart the effect happens exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.pipeline.ingest import ingest
from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from storage.models import InboxItem, KeyValue
from tests.bot.crash_support import SOURCE

ROOT = Path(__file__).parents[2]


def _worker(rt: Runtime, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        LIANXIN_DATABASE__URL=rt.settings.database_url,
        LIANXIN_REDIS__URL=rt.settings.redis.url,
        LIANXIN_REDIS__QUEUE_PREFIX=rt.settings.redis.queue_prefix,
        LIANXIN_QUEUE__LEASE_SECONDS=str(rt.settings.queue.lease_seconds),
        LIANXIN_SANDBOX="off",
        LIANXIN_INSIGHT__MODEL_CACHE_DIR=str(rt.settings.insight.model_cache_dir),
    )
    env.pop("LIANXIN_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bot.crash_support", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _wait(predicate: Callable[[], bool], timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_sigkill_mid_job_then_restart_effect_exactly_once(rt: Runtime, tmp_path: Path):
    rt.settings.queue.lease_seconds = 4.0
    rt.settings.queue.sweep_seconds = 1
    marker = tmp_path / "started"
    log = tmp_path / "worker.log"
    assert ingest(rt, source=SOURCE, key="job-1", payload=f"{marker}|2")

    first = _worker(rt, log)
    try:
        _wait(marker.exists, 60, "the job to start", log)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()

    def effects() -> int:
        with rt.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(KeyValue)) or 0)

    def inbox_status() -> str:
        with rt.sessions() as s:
            return s.scalars(select(InboxItem.status)).one()

    assert effects() == 0 and inbox_status() == "pending"  # the half-done job left nothing

    marker.unlink()
    second = _worker(rt, log)
    try:
        # sweeping as `lianxin scheduler` would: once the dead worker's lease has run out, the
        # sweeper hands the row to the new worker (before that it leaves the row alone)
        _wait(lambda: sweep()["inbox"] >= 0 and inbox_status() == "done", 60, "the rerun", log)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert effects() == 1
    with rt.sessions() as s:
        row = s.scalars(select(InboxItem)).one()
    assert row.attempts == 2
