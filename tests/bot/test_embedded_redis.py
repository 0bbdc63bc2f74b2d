"""One embedded redis-server per var/: shared by every lianxin process, gone with the last one.

Counted with `ps` (psutil): `lianxin run` (sandbox off and on), a two-worker gunicorn, and
several one-shot processes, after Ctrl-C, SIGTERM and SIGKILL of the parent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests
from sqlalchemy import select

from bot import queue as q
from tests.bot.process_support import (
    ROOT,
    clean_env,
    ctrl_c,
    free_port,
    lianxin,
    redis_servers,
    settle,
    wait_for_line,
)

HOLDER = """
import sys, time
from pathlib import Path
from bot import queue as q
import redis
url = q.embedded_redis_url(Path(sys.argv[1]))
redis.Redis.from_url(url).incr("joined")
print("joined", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holder(var_dir: Path, seconds: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(var_dir), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )


def test_processes_starting_together_share_one_server_and_the_last_stops_it(tmp_path: Path):
    var = tmp_path / "var"
    holders = [_holder(var, 60) for _ in range(4)]
    for h in holders:
        assert h.stdout is not None and h.stdout.readline() == b"joined\n"
    assert len(redis_servers(var)) == 1
    import redis

    from bot.embedded_redis import redis_dir, socket_path

    conn = redis.Redis(unix_socket_path=str(socket_path(redis_dir(var))))
    assert conn.get("joined") == b"4"  # all four talked to the same server
    conn.close()
    crashed = redis_servers(var)[0]
    os.kill(crashed, signal.SIGKILL)  # the server crashes: its watchdog starts it again
    assert settle(lambda: len([p for p in redis_servers(var) if p != crashed]), 1) == 1
    holders[0].kill()  # SIGKILL: its lock goes with it, the others still use the server
    holders[1].terminate()
    for h in holders[:2]:
        h.wait()
    assert settle(lambda: len(redis_servers(var)), 1, timeout=2) == 1
    holders[2].kill()
    holders[3].kill()
    for h in holders[2:]:
        h.wait()
    assert settle(lambda: len(redis_servers(var)), 0) == 0


def test_one_shot_commands_leave_no_server(tmp_path: Path):
    var = tmp_path / "var"
    env = clean_env(var, LIANXIN_SANDBOX="off")
    example = ROOT / "examples" / "directory.yaml"
    for args in (
        ["directory", "import", str(example)],
        ["notify", "--station", "dh01", "--text", "x"],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert settle(lambda: len(redis_servers(var)), 0) == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sandbox", "stop"),
    [("off", "ctrl-c"), ("off", "sigkill"), ("on", "sigterm"), ("on", "sigkill")],
)
def test_lianxin_run_starts_exactly_one_server_and_none_is_left(
    tmp_path: Path, sandbox: str, stop: str
):
    var = tmp_path / "var"
    log = tmp_path / "run.log"
    proc = lianxin(
        ["run", "--port", str(free_port())], clean_env(var, LIANXIN_SANDBOX=sandbox), log, tmp_path
    )
    try:
        wait_for_line(log, "is ready: http://127.0.0.1:", proc)
        # web, worker, scheduler (and stream) all joined; still exactly one server
        assert len(redis_servers(var)) == 1, log.read_text()[-2000:]
        if stop == "ctrl-c":  # a child that dies is restarted, and the log says so
            worker = next(c for c in psutil.Process(proc.pid).children() if "worker" in c.cmdline())
            worker.kill()
            wait_for_line(log, "restarted worker (attempt 1)", proc)
            assert len(redis_servers(var)) == 1
    finally:
        if stop == "ctrl-c":
            ctrl_c(proc)
        elif stop == "sigterm":
            proc.terminate()
        else:
            proc.kill()
        proc.wait(30)
    assert settle(lambda: len(redis_servers(var)), 0) == 0, log.read_text()[-2000:]
    assert (var / "lianxin.db").exists()
    text = log.read_text()
    assert '"GET /healthz' not in text and '"GET /sandbox' not in text  # no access-log noise
    assert text.count("is ready") == 1


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL])
def test_two_worker_gunicorn_shares_one_server(tmp_path: Path, stop: signal.Signals):
    var = tmp_path / "var"
    port = free_port()
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "4"]
        + ["bot.wsgi:app"],
        cwd=ROOT,
        env=clean_env(var, LIANXIN_SANDBOX="off"),
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        answered = set()
        # by the clock, not a count: one worker may answer hundreds of requests while the other
        # is still importing the app
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                res = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                if res.status_code == 200:
                    answered.add(res.headers["X-Lianxin-Instance"])
            except requests.RequestException:  # a worker still importing the app
                pass
            if len(answered) == 2 or proc.poll() is not None:
                break
            time.sleep(0.02)
        assert len(answered) == 2, log.read_text()[-3000:]  # both workers are up
        assert len(redis_servers(var)) == 1
    finally:
        os.kill(proc.pid, stop)
        proc.wait(30)
    # after SIGKILL of the master, each worker notices its parent is gone and exits
    assert settle(lambda: len(redis_servers(var)), 0) == 0, log.read_text()[-3000:]


@pytest.mark.slow
def test_a_worker_revives_the_embedded_server_when_its_watchdog_is_killed(tmp_path: Path):
    from bot.config import load_settings
    from bot.pipeline.ingest import ingest
    from bot.runtime import build_runtime
    from storage.models import KeyValue
    from tests.bot.crash_support import SOURCE

    var = tmp_path / "var"
    env = clean_env(var, LIANXIN_SANDBOX="off")
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.bot.crash_support", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    rt = build_runtime(load_settings(environ=env))
    try:

        def effects() -> int:
            with rt.sessions() as s:
                return len(
                    list(s.scalars(select(KeyValue.key).where(KeyValue.key.like("effect:%"))))
                )

        assert ingest(rt, source=SOURCE, key="one", payload=f"{tmp_path / 'm'}|0")
        assert settle(effects, 1, timeout=60) == 1, log.read_text()[-3000:]
        (server,) = redis_servers(var)
        watchdog = psutil.Process(server).ppid()
        os.kill(watchdog, signal.SIGKILL)  # its redis-server follows (PR_SET_PDEATHSIG)
        # the worker notices the outage and starts a new watchdog and server: still only one
        assert settle(lambda: len([p for p in redis_servers(var) if p != server]), 1) == 1
        assert len(redis_servers(var)) == 1
        assert ingest(rt, source=SOURCE, key="two", payload=f"{tmp_path / 'm'}|0")
        assert settle(effects, 2, timeout=60) == 2, log.read_text()[-3000:]
        assert worker.poll() is None  # the same worker, nobody restarted it
    finally:
        worker.terminate()
        worker.wait(30)
        q.stop_embedded(var)
        rt.engine.dispose()
    assert settle(lambda: len(redis_servers(var)), 0) == 0
