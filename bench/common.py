"""Shared by the bench scripts: throwaway databases, free ports, gunicorn, CPU accounting, the
labelled insight sets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from storage import migrate  # noqa: E402
from storage.db import make_engine  # noqa: E402

if TYPE_CHECKING:
    from handlers.insight.places import Gazetteer

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def database(kind: str, pg_url: str, workdir: Path) -> Iterator[str]:
    """A fresh, migrated database URL of `kind` (sqlite or postgresql); dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
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


def _processes() -> Iterator[tuple[int, int, str, float]]:
    """(pid, ppid, command name, user + system CPU seconds) of every process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        cpu = (int(fields[11]) + int(fields[12])) / tick
        yield int(stat.parent.name), int(fields[1]), head.split("(", 1)[1], cpu


def cpu_by_command(names: tuple[str, ...]) -> float:
    """User + system CPU so far of every process whose command name is one of `names`."""
    return sum(cpu for _pid, _ppid, name, cpu in _processes() if name in names)


def cpu_of(pids: list[int]) -> float:
    """User + system CPU so far of the given processes."""
    wanted = set(pids)
    return sum(cpu for pid, _ppid, _name, cpu in _processes() if pid in wanted)


def cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and its children so far."""
    return sum(cpu for pid, ppid, _name, cpu in _processes() if root_pid in (pid, ppid))


@contextmanager
def gunicorn(
    app: str, env: dict[str, str], workers: int, threads: int
) -> Iterator[tuple[str, int]]:
    """gunicorn serving `app` (gthread); yields (base URL, master pid) once /healthz answers."""
    port = free_port()
    argv = [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    argv += ["-k", "gthread", "--threads", str(threads), "--log-level", "warning"]
    argv += ["--keep-alive", "30", app]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            with suppress(requests.RequestException):
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"gunicorn {app} did not come up")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(15)


def load_line() -> str:
    """How busy the machine was (other work shows in the latency)."""
    return "load average (1/5/15 min): " + " ".join(f"{x:.2f}" for x in os.getloadavg())


INSIGHT_FIXTURES = ROOT / "tests" / "fixtures" / "insight"


def insight_labelled(which: str) -> list[dict[str, Any]]:
    """The labelled lines of one insight set (tests/fixtures/insight/<which>/messages.jsonl)."""
    lines = (INSIGHT_FIXTURES / which / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@contextmanager
def categories_without(which: str) -> Iterator[None]:
    """Categorise with the default set trained without `which`'s own messages (the shipped
    examples include our labelled sets): a set's figures must not come from training on it."""
    from handlers.insight.category_set import default_set, use

    use(default_set(frozenset({which})))
    try:
        yield
    finally:
        use(None)


def insight_gazetteer(which: str) -> Gazetteer:
    """One insight set's places, imported into a throwaway SQLite database and loaded."""
    from handlers.insight.gazetteer import load_gazetteer
    from storage.db import make_session_factory
    from storage.directory import import_directory

    engine = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='lianxin-insight-')}/q.db")
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        import_directory(session, INSIGHT_FIXTURES / which / "places.yaml")
    with sessions() as session:
        gazetteer = load_gazetteer(session)
    engine.dispose()
    return gazetteer
