"""Profile one worker draining bench/pipeline.py's conversations, in this process.

Counts SQL statements per job kind (an SQLAlchemy event listener on the bench's engine, not in
product code) and splits each job's wall time into platform HTTP calls, database round trips,
Redis round trips and the rest (cProfile's cumulative wall time of the I/O entry points).

    .venv/bin/python bench/pipeline_profile.py --conversations 20
    .venv/bin/python bench/pipeline_profile.py --database sqlite --top 25
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import pstats
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rq import SimpleWorker  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.queue import Queue  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench.common import DEFAULT_PG, load_line, postgres_up  # noqa: E402
from bench.pipeline import (  # noqa: E402
    conversation_messages,
    pipeline_runtime,
    platforms,
    quiet,
    record,
    redis_commands,
    seed,
)
from bot import queue as q  # noqa: E402
from bot.adapters import register_adapters  # noqa: E402
from bot.pipeline.sweeper import sweep  # noqa: E402
from handlers.insight.category import warm_up  # noqa: E402

# (file fragment, function) → category; cumulative wall time of each is charged to it
IO_POINTS = {
    ("requests/sessions.py", "send"): "platform HTTP",
    ("sqlalchemy/engine/default.py", "do_execute"): "database",
    ("sqlalchemy/engine/default.py", "do_executemany"): "database",
    ("sqlalchemy/engine/default.py", "do_commit"): "database",
    ("sqlalchemy/engine/default.py", "do_rollback"): "database",
    ("sqlalchemy/pool/base.py", "_do_return_conn"): "database",
    ("redis/client.py", "execute_command"): "Redis",
    ("redis/client.py", "execute"): "Redis",
}


class Counting:
    """SQL statements per job kind, and jobs per kind."""

    def __init__(self) -> None:
        self.kind = "outside jobs"
        self.sql: Counter[str] = Counter()
        self.jobs: Counter[str] = Counter()
        self.wall: defaultdict[str, float] = defaultdict(float)
        self.statements: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def on_sql(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        """before_cursor_execute: count the statement for the running job."""
        self.sql[self.kind] += 1
        self.statements[self.kind][" ".join(statement.split())[:90]] += 1


def job_kind(job: Job) -> str:
    """A short label: the job function, and the outbox kind for sends."""
    return job.func_name.rsplit(".", 1)[-1]


def main() -> int:
    """Drain the recorded conversations with one in-process worker and print the profile."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database", default="postgresql", choices=("postgresql", "sqlite"))
    p.add_argument("--pg-url", default=DEFAULT_PG)
    p.add_argument("--redis-url", default="")
    p.add_argument("--latency", type=float, default=0.1)
    p.add_argument("--conversations", type=int, default=20)
    p.add_argument("--stations", type=int, default=10)
    p.add_argument("--top", type=int, default=0, help="also print the N most frequent statements")
    p.add_argument("--pstats", default="", help="also save the cProfile data to this file")
    p.add_argument("--timeout", type=float, default=240.0)
    p.add_argument("--show-calls", type=int, default=0, help="print the first N DingTalk calls")
    args = p.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.database == "postgresql" and not postgres_up(args.pg_url):
        print(f"no PostgreSQL at {args.pg_url}")
        return 1
    register_adapters()
    warm_up()  # as `lianxin worker` does before it takes jobs
    counting = Counting()

    class ProfiledWorker(SimpleWorker):
        """rq's in-process worker, labelling SQL with the job it runs."""

        def perform_job(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> bool:
            counting.kind = job_kind(job)
            counting.jobs[counting.kind] += 1
            start = time.perf_counter()
            try:
                return bool(super().perform_job(job, queue, *args, **kwargs))
            finally:
                counting.wall[counting.kind] += time.perf_counter() - start
                counting.kind = "outside jobs"

    with tempfile.TemporaryDirectory() as tmpdir, platforms(args.latency) as sims:
        tmp = Path(tmpdir)
        args.redis_url = args.redis_url or q.embedded_redis_url(tmp / "redis")
        with pipeline_runtime(args, sims, tmp) as rt:
            scenes = seed(rt, sims, args.stations)
            event.listen(rt.engine, "before_cursor_execute", counting.on_sql)
            people = [f"wmProf{uuid.uuid4().hex[:10]}" for _ in range(args.conversations)]
            batch = [
                conversation_messages(sims, p, scenes[n % len(scenes)])
                for n, p in enumerate(people)
            ]
            record(rt, [m for n in range(4) for msgs in batch for m in msgs[n : n + 1]])
            queues = [rt.queue(n) for n in q.ALL_QUEUES]
            redis_before = redis_commands(rt)
            prof = cProfile.Profile()
            start = time.perf_counter()
            prof.enable()
            while not quiet(rt):
                if time.perf_counter() - start > args.timeout:
                    raise SystemExit("did not drain")
                ProfiledWorker(queues, connection=rt.redis).work(
                    burst=True, with_scheduler=True, logging_level="WARNING"
                )
                if not quiet(rt):
                    sweep()
                    time.sleep(0.2)
            prof.disable()
            wall = time.perf_counter() - start
            redis_used = redis_commands(rt) - redis_before
            calls = Counter(path for path, _body in sims.wecom.calls)
            calls.update(path for _method, path, _body in sims.dingtalk.calls)
            if args.show_calls:
                for _method, path, body in sims.dingtalk.calls[: args.show_calls]:
                    print(path, {k: v for k, v in body.items() if k != "cardData"})
        rows = 4 * args.conversations
        print(
            f"profile on {args.database}: {args.conversations} conversations × 4 kf messages, "
            f"platform latency {args.latency * 1000:.0f} ms; one in-process worker; {load_line()}"
        )
        print(f" drained {rows} events in {wall:.1f} s = {rows / wall:.1f} events/s")
        total_sql = sum(counting.sql.values())
        print(
            f" SQL statements: {total_sql} = {total_sql / rows:.1f} per event, "
            f"{total_sql / args.conversations:.0f} per conversation"
        )
        total_redis = sum(redis_used.values())
        top_redis = ", ".join(f"{c} {n / rows:.1f}" for c, n in redis_used.most_common(8))
        print(
            f" Redis commands (server side, Lua scripts' own calls included): {total_redis} = "
            f"{total_redis / rows:.1f} per event; per event: {top_redis}"
        )
        print(" platform calls per conversation (the DingTalk limiter allows qps_limit per path):")
        for path, n in calls.most_common():
            print(f"  {path:48} {n / args.conversations:5.2f}")
        print(" per job kind: jobs, wall s, SQL statements (per job)")
        for kind, n in counting.jobs.most_common():
            print(
                f"  {kind:24} {n:5} {counting.wall[kind]:7.2f} s  "
                f"{counting.sql[kind]:6} ({counting.sql[kind] / n:.1f})"
            )
        print(f"  {'outside jobs':24}       {'':9} {counting.sql['outside jobs']:6}")
        stats = pstats.Stats(prof)
        if args.pstats:
            stats.dump_stats(args.pstats)
        spent: Counter[str] = Counter()
        for (file, _line, fn), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            for (frag, name), category in IO_POINTS.items():
                if fn == name and file.endswith(frag):
                    spent[category] += ct
        # nested entry points (redis pipeline execute → execute_command) would double count;
        # the listed ones do not nest in practice except Redis script __call__ → execute_command
        print(" wall time by kind of wait (cProfile cumulative):")
        for category, seconds in spent.most_common():
            print(f"  {category:14} {seconds:7.2f} s  {100 * seconds / wall:5.1f} %")
        other = wall - sum(spent.values())
        print(f"  {'the rest (CPU)':14} {other:7.2f} s  {100 * other / wall:5.1f} %")
        if args.top:
            for kind in counting.statements:
                print(f" top statements in {kind}:")
                for stmt, n in counting.statements[kind].most_common(args.top):
                    print(f"  {n:5}  {stmt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
