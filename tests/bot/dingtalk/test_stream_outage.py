"""`lianxin stream` keeps running through a Redis outage: frames are recorded and acked
meanwhile, by the same process, before and after Redis comes back."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from tests.bot.dingtalk.conftest import ROOT, inbox, service_env, wait_until
from tests.support import RedisServer


@pytest.mark.slow
def test_stream_process_records_through_a_redis_outage(
    rt: Runtime, sim: DingTalkSimulator, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path / "redis")
    redis.start()
    env = dict(service_env(rt), LIANXIN_REDIS__URL=redis.url)
    log = tmp_path / "stream.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "stream"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert sim.wait_connections(1, timeout=30), log.read_text()
        sim.user_sends_private_text("u-zhang", "之前")
        wait_until(lambda: len(inbox(rt)) == 1, 15, "recorded before")
        redis.stop()
        sim.user_sends_private_text("u-li", "停机中")
        wait_until(lambda: len(inbox(rt)) == 2 and sim.pending_unacked() == 0, 15, "recorded down")
        redis.start()
        sim.user_sends_private_text("u-chen", "之后")
        wait_until(lambda: len(inbox(rt)) == 3 and sim.pending_unacked() == 0, 15, "recorded after")
        assert proc.poll() is None, log.read_text()  # the same process all along
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        redis.stop()
    assert "Traceback" not in log.read_text()
