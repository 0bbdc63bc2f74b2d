"""`lianxin run`: check the port, prepare the data, start the children, say "ready" truthfully."""

from __future__ import annotations

import logging
import secrets
import sys
import threading

from bot import queue as q
from bot.config import Settings
from bot.filelock import locked
from bot.readiness import INSTANCE_ENV, cannot_listen, wait_until_ours
from bot.supervisor import Child, Supervisor, child_env, lianxin_argv

log = logging.getLogger(__name__)
READY_TIMEOUT = 120.0
_ANY_HOST = ("", "0.0.0.0", "::", "localhost")


def run_service(settings: Settings, *, host: str | None, port: int | None) -> int:
    """Start web, worker, scheduler (and stream, sandbox) as one supervised group."""
    from storage import migrate
    from storage.db import make_engine

    # the sandbox has no authentication: it stays on loopback unless --host says otherwise
    host = host or ("127.0.0.1" if settings.sandbox_mode else settings.web.host)
    port = port if port is not None else settings.web.port
    problem = cannot_listen(host, port)
    if problem is not None:  # before anything starts: one clear line, no restart loop
        print(f"lianxin: {problem}", file=sys.stderr)
        return 1
    print(f"lianxin: data: {settings.var_dir}", flush=True)
    print("lianxin: preparing the database …", flush=True)
    with locked(settings.var_dir / "migrate.lock"):
        migrate.upgrade(make_engine(settings.database_url))
    instance = secrets.token_hex(8)
    # children get resolved settings: they skip the migration we just ran, find the same
    # var/ (and its one embedded Redis) wherever they start, and their web answers as ours
    overrides = {
        "LIANXIN_DATABASE__URL": settings.database_url,
        "LIANXIN_VAR_DIR": str(settings.var_dir),
        INSTANCE_ENV: instance,
    }
    if not settings.redis.url:
        q.embedded_redis_url(settings.var_dir)  # up before the children; held until we exit
    stopping = threading.Event()
    sandbox = None
    try:
        if settings.sandbox_mode:
            from bot.sandbox.launch import start_sandbox

            sandbox = start_sandbox(settings, host=host, port=port, instance=instance)
            overrides.update(sandbox.env)
        url = f"http://{host}:{port}/" + ("sandbox" if sandbox else "healthz")
        kind = "lianxin sandbox" if sandbox else "lianxin"
        print(f"{kind} is starting: {url}  (Ctrl-C stops)", flush=True)
        if sandbox is None:  # the sandbox announces itself once both platforms are connected
            base = f"http://{'127.0.0.1' if host in _ANY_HOST else host}:{port}"
            _announce_when_ours(base, instance, stopping, f"{kind} is ready: {url}")
        return Supervisor(
            _children(settings, host, port, sandbox is not None), child_env(overrides)
        ).run()
    finally:
        stopping.set()
        if sandbox is not None:
            sandbox.stop()
        if not settings.redis.url:
            q.stop_embedded(settings.var_dir)


def _children(settings: Settings, host: str, port: int, sandbox: bool) -> list[Child]:
    children = [
        Child("web", lianxin_argv("web", "--host", host, "--port", str(port))),
        Child("worker", lianxin_argv("worker")),
        Child("scheduler", lianxin_argv("scheduler")),
    ]
    if settings.dingtalk.configured or sandbox:
        children.append(Child("stream", lianxin_argv("stream")))
    return children


def _announce_when_ours(base: str, instance: str, stopping: threading.Event, line: str) -> None:
    def wait() -> None:
        if wait_until_ours(base, instance, stopping, READY_TIMEOUT):
            print(line, flush=True)
        elif not stopping.is_set():
            log.warning("the web process did not answer %s/healthz in %.0fs", base, READY_TIMEOUT)

    threading.Thread(target=wait, name="ready", daemon=True).start()
