"""Benchmark: a Redis outage mid-traffic, and how long after Redis returns everything is done.

Starts a private redis-server, one `lianxin worker` and one `lianxin scheduler`, records
events continuously (as the web and the stream do: `ingest`), stops Redis for --outage
seconds (default 60) while events keep arriving, starts it again (empty, as after a crash),
and prints how long after Redis returned every recorded event had been processed, and how
many times each ran (must be exactly once). Nobody restarts the worker or the scheduler.

    .venv/bin/python bench/redis_outage.py                 # SQLite, 60 s outage
    .venv/bin/python bench/redis_outage.py --outage 20 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage import migrate  # noqa: E402
from storage.db import make_engine  # noqa: E402
from tests.bot.outage_support import OutageRun  # noqa: E402


def main() -> int:
    """Run the scenario and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outage", type=float, default=60.0, help="seconds Redis stays down")
    ap.add_argument("--rate", type=float, default=5.0, help="events recorded per second")
    ap.add_argument("--database-url", default="", help="default: a SQLite file in a temp dir")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lx-outage-") as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work / 'bench.db'}"
        migrate.upgrade(make_engine(url))
        run = OutageRun(work, url, f"lxbench-{uuid.uuid4().hex[:8]}")
        run.start()
        keys: list[str] = []
        try:
            _traffic(run, keys, "warm", 10 / args.rate, args.rate)
            run.wait_processed(keys, 60)
            run.redis.stop()
            print(f"redis stopped; recording for {args.outage:.0f}s", flush=True)
            _traffic(run, keys, "down", args.outage, args.rate)
            alive_during = run.alive()
            run.redis.start()
            back = time.monotonic()
            print("redis started again (empty)", flush=True)
            _traffic(run, keys, "back", 5, args.rate)
            run.wait_processed(keys, 300)
            recovered = time.monotonic() - back
            time.sleep(5)  # more sweeps: nothing may run twice
            effects = run.effects()
            alive_after = run.alive()
        finally:
            run.stop()
    twice = sorted(k for k in keys if effects[k] > 1)
    missing = sorted(k for k in keys if effects[k] == 0)
    during = sum(k.startswith("down") for k in keys)
    print(f"events recorded: {len(keys)} ({during} during the outage)")
    print(f"all processed {recovered:.1f}s after Redis returned (incl. 5s of new traffic)")
    once = len(keys) - len(twice) - len(missing)
    print(f"processed exactly once: {once}; twice+: {len(twice)}; missing: {len(missing)}")
    print(f"processes alive during the outage: {alive_during}; after: {alive_after}")
    return 0 if not twice and not missing and all(alive_after.values()) else 1


def _traffic(run: OutageRun, keys: list[str], label: str, seconds: float, rate: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        key = f"{label}{len(keys)}"
        run.record(key)
        keys.append(key)
        time.sleep(1 / rate)


if __name__ == "__main__":
    sys.exit(main())
