"""Benchmark of 民情大脑 on the labelled fixture sets, and its cost at intake.

For each set (tests/fixtures/insight/main, /holdout, /handwritten, /fresh2, and the blind
/fresh4 to /fresh22): a fresh database, its gazetteer imported with the directory importer,
then the batch (the code path of `lianxin insight cluster`) with and without the messages'
locations. Prints pairwise precision/recall/F1, false merges per trap kind, category accuracy
and macro-F1, place accuracy.

Then the intake cost: 10,000 open cases spread over the gazetteer's places in the last 90 days
(features stored as intake stores them), and `annotate_case` timed for each fixture message
as a new case (analyse + indexed candidate query + store), rolled back after each.

    .venv/bin/python bench/insight.py
    .venv/bin/python bench/insight.py --open-cases 10000 --database-url postgresql://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from bench.common import INSIGHT_FIXTURES, categories_without, insight_labelled  # noqa: E402
from handlers.context import HandlerContext  # noqa: E402
from handlers.insight import annotate_case  # noqa: E402
from handlers.insight.analysis import analyse  # noqa: E402
from handlers.insight.cluster import InputMessage, cluster  # noqa: E402
from handlers.insight.evaluate import score  # noqa: E402
from handlers.insight.gazetteer import load_gazetteer  # noqa: E402
from handlers.insight.sql_index import features_to_json  # noqa: E402
from storage import migrate  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.directory import import_directory  # noqa: E402
from storage.models import Case, CasePlace, Constituent  # noqa: E402

SETS = (
    "main",
    "holdout",
    "handwritten",
    "fresh2",
    "fresh3",
    "dev4",
    "fresh4",
    "fresh5",
    "fresh6",
    "fresh7",
    "fresh8",
    "fresh9",
    "fresh10",
    "fresh11",
    "fresh12",
    "fresh13",
    "fresh14",
    "fresh15",
    "fresh16",
    "fresh17",
    "fresh18",
    "fresh19",
    "fresh20",
    "fresh21",
    "fresh22",
)


def _database(url: str | None, name: str) -> tuple[str, Any]:
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="lianxin-insight-"))
        return f"sqlite:///{folder / (name + '.db')}", None
    base = make_url(url)
    db = f"{base.database or 'bench'}_{name}"
    admin = create_engine(
        base.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{db}"'))
    return base.set(database=db).render_as_string(hide_password=False), admin


def _drop(url: str) -> None:
    """Drop the databases this run made on the server."""
    base = make_url(url)
    admin = create_engine(
        base.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        for name in [f"quality_{s}" for s in SETS] + ["intake"]:
            db = f"{base.database or 'bench'}_{name}"
            conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()


def _sessions(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return make_session_factory(engine)


def quality(which: str, sessions: sessionmaker[Session]) -> None:
    """Figures of one labelled set, with and without locations, categorised by the model
    trained without the set's own messages (the shipped examples hold our labelled sets)."""
    with categories_without(which):
        _quality(which, sessions)


def _quality(which: str, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        import_directory(session, INSIGHT_FIXTURES / which / "places.yaml")
    with sessions() as session:
        gazetteer = load_gazetteer(session)
    rows = insight_labelled(which)
    groups = len({r["group"] for r in rows})
    multi = sum(1 for g in {r["group"] for r in rows} if sum(r["group"] == g for r in rows) > 1)
    located = sum(1 for r in rows if r.get("lat") is not None)
    print(
        f"\n== {which}: {len(rows)} messages, {groups} groups ({multi} of 2+), "
        f"{located} with a location, {len(gazetteer.places)} places"
    )
    for with_location in (False, True):
        messages = [
            InputMessage(
                r["id"],
                r["text"],
                datetime.fromisoformat(r["created_at"]),
                r.get("lat") if with_location else None,
                r.get("lng") if with_location else None,
            )
            for r in rows
        ]
        started = time.perf_counter()
        outcomes = [o.__dict__ for o in cluster(messages, gazetteer)]
        elapsed = time.perf_counter() - started
        s = score(rows, outcomes)
        label = "with locations   " if with_location else "text+time+places "
        print(
            f"{label} P {s.precision:.3f}  R {s.recall:.3f}  F1 {s.f1:.3f}  "
            f"false merges {s.false_merges}  category acc {s.category_accuracy:.3f} "
            f"macro-F1 {s.category_macro_f1:.3f}  place acc {s.place_accuracy:.3f}  "
            f"unresolved {s.unresolved}  ({elapsed:.1f} s)"
        )


def intake_cost(sessions: sessionmaker[Session], open_cases: int, seed: int = 7) -> None:
    """Milliseconds `annotate_case` adds per message with `open_cases` open cases stored."""
    rng = random.Random(seed)
    rows = insight_labelled("main")
    now = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    with sessions.begin() as session:
        import_directory(session, INSIGHT_FIXTURES / "main" / "places.yaml")
    with sessions() as session:
        gazetteer = load_gazetteer(session)
    places = list(gazetteer.places.values())
    pool = [analyse(gazetteer, r["text"], now) for r in rows]
    started = time.perf_counter()
    with sessions.begin() as session:
        person = Constituent(channel="wecom_kf", external_id="bench", sends_since_inbound=0)
        session.add(person)
        session.flush()
        batch: list[Case] = []
        for i in range(open_cases):
            item = rng.choice(pool)
            place = rng.choice(places)
            at = now - timedelta(days=rng.uniform(0, 90))
            feats = features_to_json(item.features) | {"places": [place.id]}
            located = rng.random() < 0.5 and place.lat is not None
            case = Case(
                status="assigned",
                constituent_id=person.id,
                text=rows[i % len(rows)]["text"],
                created_at=at,
                updated_at=at,
                category=item.category.category,
                place_id=place.id,
                place_how="text",
                lat=(place.lat or 0) + rng.uniform(-3e-4, 3e-4) if located else None,
                lng=(place.lng or 0) + rng.uniform(-3e-4, 3e-4) if located else None,
                insight=feats,
            )
            batch.append(case)
            if len(batch) == 1000:
                _flush(session, batch)
                batch = []
        _flush(session, batch)
        person_id = person.id
    print(f"\n== intake: {open_cases} open cases seeded in {time.perf_counter() - started:.1f} s")
    timings, cpu = [], []
    ctx = HandlerContext(now=now)
    sample = rows[:200]
    for r in sample:
        with sessions() as session, session.begin():
            case = Case(
                status="new",
                constituent_id=person_id,
                text=r["text"],
                created_at=now,
                updated_at=now,
                lat=r.get("lat"),
                lng=r.get("lng"),
            )
            session.add(case)
            session.flush()
            t0, c0 = time.perf_counter(), time.process_time()
            annotate_case(session, case, ctx)
            session.flush()
            timings.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            session.rollback()
    for label, values in (("wall", timings), ("cpu ", cpu)):
        values.sort()
        p95 = values[int(len(values) * 0.95) - 1]
        print(
            f"annotate_case {label} per message ({len(values)} messages): "
            f"mean {statistics.mean(values):.1f} ms, median {statistics.median(values):.1f} ms, "
            f"p95 {p95:.1f} ms, max {values[-1]:.1f} ms"
        )
    print(f"(load average while measuring: {_load()})")


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _flush(session: Session, batch: list[Case]) -> None:
    session.add_all(batch)
    session.flush()
    for case in batch:
        data = case.insight or {}
        objects = data["objects"] or [""]
        session.add_all(
            CasePlace(case_id=case.id, place_id=p, object=o)
            for p in data["places"]
            for o in objects
        )
    session.flush()


def main() -> int:
    """Run the figures and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--open-cases", type=int, default=10_000)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--sets", nargs="*", choices=SETS, default=list(SETS))
    args = parser.parse_args()
    admins = []
    if not args.skip_quality:
        for which in args.sets:
            url, admin = _database(args.database_url, f"quality_{which}")
            admins.append(admin)
            quality(which, _sessions(url))
    if not args.skip_intake:
        url, admin = _database(args.database_url, "intake")
        admins.append(admin)
        intake_cost(_sessions(url), args.open_cases)
    for admin in admins:
        if admin is not None:
            admin.dispose()
    if args.database_url:
        _drop(args.database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
