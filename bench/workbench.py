"""Benchmark: the workbench's pages and exports on 100,000 cases (PostgreSQL by default).

Seeds a throwaway database with a county of 3 townships, 30 stations, 300 deputies and
`--cases` cases spread over a year, each with its events and most with a rating, then drives
lianxin's real Flask app (in process, a logged-in county office session) and prints p50/p95 of
each page and of a 10,000-row xlsx export.

Cases are seeded as intake stores them: with their masked texts (the worker's masking job,
handlers.workbench.masked.store_masks). The export is timed twice: with those stored masks,
and cold — after emptying case_masks, as on a database whose cases predate masking at intake
(its first export masks and stores every text; `lianxin cases mask-texts` does that ahead).

    .venv/bin/python bench/workbench.py                                  # PostgreSQL, 100,000 cases
    .venv/bin/python bench/workbench.py --database-url sqlite:////tmp/wb.db --cases 20000

Targets (issue 13): every page p95 <= 300 ms, a 10,000-row export <= 5 s. Exit 0 when met.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import queue as q  # noqa: E402
from bot.app import create_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.workbench.sessions import COOKIE, start  # noqa: E402
from handlers.workbench.masked import store_masks  # noqa: E402
from handlers.workbench.scope import viewer_for  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.models import (  # noqa: E402
    Case,
    CaseEvent,
    Constituent,
    Deputy,
    DeputyStation,
    Rating,
    Region,
    Staff,
    Station,
)

CATEGORIES = [
    "道路交通",
    "市政设施(路灯/井盖)",
    "环境卫生",
    "噪音扰民",
    "物业管理",
    "停车",
    "其他建议",
]
YEAR_START = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=20, help="requests per page")
    p.add_argument("--export-repeat", type=int, default=3, help="timed exports (0: none)")
    p.add_argument(
        "--keep", action="store_true", help="keep the seeded PostgreSQL database and print its URL"
    )
    p.add_argument(
        "--seeded",
        action="store_true",
        help="--database-url is an already seeded database (from --keep): measure only",
    )
    return p.parse_args()


def _fresh_pg(base: str) -> tuple[str, str]:
    url = make_url(base)
    name = f"lianxin_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_pg(base: str, name: str) -> None:
    admin = create_engine(
        make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(rt: Runtime, cases: int) -> None:
    """The directory and `cases` cases with events and ratings, in bulk."""
    rnd = random.Random(7)
    with rt.sessions.begin() as s:
        county = Region(code="K", name="示例区", level="county")
        s.add(county)
        s.flush()
        towns = [
            Region(code=f"T{i}", name=f"镇{i}", level="township", parent_id=county.id)
            for i in range(3)
        ]
        s.add_all(towns)
        s.flush()
        stations = [
            Station(code=f"S{i}", name=f"联络站{i}", region_id=towns[i % 3].id) for i in range(30)
        ]
        s.add_all(stations)
        s.flush()
        deputies = [
            Deputy(code=f"D{i}", name=f"代表{i}", dingtalk_user_id=f"u-d{i}") for i in range(300)
        ]
        s.add_all(deputies)
        s.flush()
        s.add_all(
            DeputyStation(deputy_id=d.id, station_id=stations[i % 30].id)
            for i, d in enumerate(deputies)
        )
        s.add(Staff(code="ST", name="办公室", dingtalk_user_id="u-office", region_id=county.id))
        station_ids = [(st.id, st.region_id) for st in stations]
        deputy_ids = [d.id for d in deputies]
    with rt.engine.begin() as conn:
        conn.execute(
            insert(Constituent),
            [
                {
                    "channel": "wecom_kf",
                    "external_id": f"wm{i}",
                    "sends_since_inbound": 0,
                    "created_at": YEAR_START,
                }
                for i in range(cases)
            ],
        )
        first_person = conn.execute(text("SELECT min(id) FROM constituents")).scalar_one()
        rows, events, ratings = [], [], []
        for i in range(cases):
            opened = YEAR_START + timedelta(minutes=rnd.randrange(0, 330 * 24 * 60))
            station, region = station_ids[i % 30]
            answered = opened + timedelta(hours=rnd.uniform(1, 120)) if rnd.random() < 0.9 else None
            closed = (
                answered + timedelta(hours=rnd.uniform(1, 48))
                if answered and rnd.random() < 0.85
                else None
            )
            rows.append(
                {
                    "status": "closed" if closed else ("replied" if answered else "accepted"),
                    "constituent_id": first_person + i,
                    "station_id": station,
                    "region_id": region,
                    "assignee_deputy_id": deputy_ids[i % 300],
                    "category": CATEGORIES[i % 7],
                    "text": f"第{i}号诉求：小区门口路灯坏了，电话1391234{i % 10000:04d}",
                    "source": "bot",
                    "created_at": opened,
                    "updated_at": closed or answered or opened,
                    "claimed_at": opened + timedelta(minutes=30),
                    "first_answered_at": answered,
                    "answered_at": answered,
                    "closed_at": closed,
                    "answer_due_at": opened + timedelta(days=3),
                    "claim_due_at": opened + timedelta(days=1),
                    "close_due_at": opened + timedelta(days=15),
                    "version": 1,
                    "answer_seq": 1 if answered else 0,
                    "rework_count": 0,
                    "escalation_level": 0,
                    "paused_seconds": 0.0,
                }
            )
        for i in range(0, cases, 5000):
            conn.execute(insert(Case), rows[i : i + 5000])
        first_case = conn.execute(text("SELECT min(id) FROM cases")).scalar_one()
        for i, row in enumerate(rows):
            cid = first_case + i
            events.append(
                {
                    "case_id": cid,
                    "kind": "opened",
                    "actor_kind": "constituent",
                    "channel": "wecom",
                    "at": row["created_at"],
                    "payload": {},
                }
            )
            events.append(
                {
                    "case_id": cid,
                    "kind": "transition",
                    "action": "claim",
                    "from_status": "assigned",
                    "to_status": "accepted",
                    "actor_kind": "deputy",
                    "channel": "dingtalk",
                    "at": row["claimed_at"],
                    "payload": {},
                }
            )
            if row["closed_at"]:
                ratings.append(
                    {
                        "case_id": cid,
                        "answer_seq": 1,
                        "constituent_id": row["constituent_id"],
                        "value": rnd.choice(["satisfied", "satisfied", "basic", "unsatisfied"]),
                        "created_at": row["closed_at"],
                    }
                )
        for i in range(0, len(events), 10000):
            conn.execute(insert(CaseEvent), events[i : i + 10000])
        for i in range(0, len(ratings), 10000):
            conn.execute(insert(Rating), ratings[i : i + 10000])
    with rt.sessions.begin() as s:  # what the intake worker's masking job stores per case
        ids = [first_case + i for i in range(cases)]
        for i in range(0, cases, 2000):
            store_masks(s, ids[i : i + 2000])
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def timed(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95 + 0.5) - 1)]


def time_export(export, name: str, repeat: int) -> bool:  # type: ignore[no-untyped-def]
    """Print the first export's time and p50/p95 of `repeat` more; whether p95 <= 5 s."""
    t0 = time.perf_counter()
    export()
    first = time.perf_counter() - t0
    if not repeat:
        print(f"{name:<22} first {first:6.2f} s")
        return first <= 5
    p50, p95 = timed(export, repeat)
    print(f"{name:<22} p50 {p50 / 1000:7.2f} s    p95 {p95 / 1000:7.2f} s   first {first:6.2f} s")
    return p95 <= 5000


def main() -> int:
    args = parse_args()
    dropped = None
    url = args.database_url
    if url.startswith("postgresql") and not args.seeded:
        url, dropped = _fresh_pg(url)
    var = Path(tempfile.mkdtemp(prefix="lianxin-wb-bench-"))
    try:
        settings = Settings.model_validate(
            {"var_dir": str(var), "sandbox": "off", "database": {"url": url}}
        )
        engine = make_engine(url)
        migrate.upgrade(engine)
        redis_url = q.embedded_redis_url(var)
        rt = Runtime(
            settings, engine, make_session_factory(engine), redis_url, q.connect(redis_url)
        )
        if not args.seeded:
            t0 = time.perf_counter()
            seed(rt, args.cases)
            took = time.perf_counter() - t0
            print(f"seeded {args.cases} cases in {took:.1f}s ({engine.dialect.name})")
        if args.keep and dropped:
            print(f"kept {url}")
            dropped = None
        app = create_app(runtime=rt)
        client = app.test_client()
        with rt.sessions.begin() as s:
            viewer = viewer_for(s, "u-office", frozenset())
            assert viewer is not None
            token = start(s, viewer, "oauth")
        client.set_cookie(COOKIE, token, path="/workbench")
        html = client.get("/workbench/cases").get_data(as_text=True)
        marker = 'name="csrf" value="'
        csrf = html[html.index(marker) + len(marker) :].split('"', 1)[0]

        def get(path: str):  # type: ignore[no-untyped-def]
            def go() -> None:
                res = client.get(path)
                assert res.status_code == 200, (path, res.status_code)

            return go

        def post(path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
            def go() -> None:
                res = client.post(path, data={"csrf": csrf, **data})
                assert res.status_code == 200, (path, res.status_code)

            return go

        pages = {
            "概览 (month)": get("/workbench/?from=2026-06-01&to=2026-06-30"),
            "概览 (quarter)": get("/workbench/?from=2026-04-01&to=2026-06-30"),
            "代表 (month)": get("/workbench/deputies?from=2026-06-01&to=2026-06-30"),
            "诉求 list": get("/workbench/cases"),
            "诉求 filtered+search": post(
                "/workbench/cases", {"status": "closed", "q": "路灯", "page": "3"}
            ),
            "诉求详情": get(
                "/workbench/cases/50000" if args.cases >= 50000 else "/workbench/cases/1"
            ),
        }
        ok = True
        for name, fn in pages.items():
            t0 = time.perf_counter()
            fn()  # warm (the first statistics view of a period also stores its working hours)
            first = (time.perf_counter() - t0) * 1000
            p50, p95 = timed(fn, args.repeat)
            flag = "" if p95 <= 300 else "  (over 300 ms)"
            ok &= p95 <= 300
            print(f"{name:<22} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   first {first:7.1f} ms{flag}")
        export = post("/workbench/export/cases.xlsx", {"from": "2026-03-01", "to": "2026-04-10"})
        if args.export_repeat:
            ok &= time_export(export, "export ~10,000 rows", args.export_repeat)
            with rt.engine.begin() as conn:  # cold: cases stored before masking at intake
                conn.execute(text("DELETE FROM case_masks"))
            time_export(export, "  cold (no masks)", 0)  # its first export stores the masks
        print(f"load average (1/5/15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0 if ok else 1
    finally:
        q.stop_embedded(var)
        if dropped:
            _drop_pg(args.database_url, dropped)


if __name__ == "__main__":
    sys.exit(main())
