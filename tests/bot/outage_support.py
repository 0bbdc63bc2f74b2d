"""A Redis outage under real traffic: a private redis-server, real `lianxin worker` and
`lianxin scheduler` processes, events recorded with `ingest` (what the web and the stream do).

Shared by tests/bot/test_healing.py (a short outage) and bench/redis_outage.py (60 s).
Only public behaviour is observed: an ingested event's processor ran (its effect row exists),
how many times, and whether the processes were restarted (their pids).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from bot import queue as q
from bot.config import Settings
from bot.pipeline.ingest import ingest
from bot.runtime import Runtime
from storage.db import make_engine, make_session_factory
from storage.models import KeyValue
from tests.bot.crash_support import SOURCE
from tests.support import RedisServer

ROOT = Path(__file__).parents[2]


@dataclass
class OutageRun:
    """The processes and the traffic of one outage scenario."""

    workdir: Path
    database_url: str
    prefix: str
    model_cache_dir: Path | None = None  # where the worker finds the trained category model
    redis: RedisServer = field(init=False)
    rt: Runtime = field(init=False)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.workdir / "redis")
        self.marker = self.workdir / "started"

    def start(self) -> None:
        """Start Redis, then one worker and one scheduler (sweeping every second)."""
        self.redis.start()
        settings = Settings.model_validate(
            {
                "var_dir": str(self.workdir / "var"),
                "sandbox": "off",
                "database": {"url": self.database_url},
                "redis": {"url": self.redis.url, "queue_prefix": self.prefix},
                "queue": {"sweep_seconds": 1},
            }
        )
        engine = make_engine(self.database_url)
        # the web's Redis client: fails fast while Redis is down, the event stays recorded
        conn = q.connect(self.redis.url, fast_fail=True)
        self.rt = Runtime(settings, engine, make_session_factory(engine), self.redis.url, conn)
        for name in ("worker", "scheduler"):
            self.procs[name] = self._spawn(name)

    def _spawn(self, command: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN")}
        env.update(
            LIANXIN_VAR_DIR=str(self.workdir / "var"),
            LIANXIN_SANDBOX="off",
            LIANXIN_DATABASE__URL=self.database_url,
            LIANXIN_REDIS__URL=self.redis.url,
            LIANXIN_REDIS__QUEUE_PREFIX=self.prefix,
            LIANXIN_QUEUE__SWEEP_SECONDS="1",
        )
        if self.model_cache_dir is not None:
            env["LIANXIN_INSIGHT__MODEL_CACHE_DIR"] = str(self.model_cache_dir)
        return subprocess.Popen(
            [sys.executable, "-m", "tests.bot.crash_support", command],
            cwd=ROOT,
            env=env,
            stdout=self.log(command).open("ab"),
            stderr=subprocess.STDOUT,
        )

    def log(self, name: str) -> Path:
        """The log file of process `name`."""
        return self.workdir / f"{name}.log"

    def record(self, key: str, seconds: float = 0) -> None:
        """Record one event, as a WeCom callback or a DingTalk frame would; its processing
        writes `self.marker`, then takes `seconds`."""
        assert ingest(self.rt, source=SOURCE, key=key, payload=f"{self.marker}|{seconds}")

    def effects(self) -> Counter[str]:
        """How many times each event's processor ran, by event key."""
        with self.rt.sessions() as session:
            keys = session.scalars(select(KeyValue.key).where(KeyValue.key.like("effect:%")))
            return Counter(k.split(":")[1] for k in keys)

    def wait_processed(self, keys: list[str], timeout: float) -> float:
        """Seconds until every key's effect exists; raises with the logs on timeout."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            done = self.effects()
            if all(done[k] >= 1 for k in keys):
                return time.monotonic() - began
            time.sleep(0.2)
        raise AssertionError(f"not processed in {timeout:.0f}s; logs:\n{self.logs()}")

    def alive(self) -> dict[str, bool]:
        """Which of our processes are still running (none was restarted: same Popen)."""
        return {name: proc.poll() is None for name, proc in self.procs.items()}

    def logs(self) -> str:
        """The tail of every process's log."""
        return "\n".join(
            f"--- {name}\n{self.log(name).read_text(errors='replace')[-2000:]}"
            for name in self.procs
        )

    def stop(self) -> None:
        """SIGTERM our processes and stop Redis."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.redis.stop()
        self.rt.engine.dispose()
