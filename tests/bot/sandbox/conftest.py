"""The whole sandbox in one process: `start_sandbox` as `lianxin run` calls it, and lianxin's web
app on a real port, configured from the environment the launcher hands to the children."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from bot import queue as q
from bot import runtime as runtime_mod
from bot.app import create_app
from bot.config import Settings, load_settings
from bot.runtime import Runtime
from bot.sandbox.launch import SandboxHandle, start_sandbox
from tests.support import delete_keys

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Any]


class LateApp:
    """A WSGI app set after the server has its port (the launcher needs the port first)."""

    def __init__(self) -> None:
        self.app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "the app is not ready"
        return self.app(environ, start_response)


@dataclass
class Sandbox:
    """The launched sandbox, the web process's runtime and a test client of its app."""

    handle: SandboxHandle
    rt: Runtime
    client: FlaskClient
    lines: list[str]


def child_settings(base: Settings, env: dict[str, str]) -> Settings:
    """What a child of `lianxin run` loads: the test's database and Redis plus `env`."""
    environ = {
        "LIANXIN_VAR_DIR": str(base.var_dir),
        "LIANXIN_DATABASE__URL": base.database_url,
        "LIANXIN_REDIS__URL": base.redis.url,
        "LIANXIN_REDIS__QUEUE_PREFIX": base.redis.queue_prefix,
        "LIANXIN_QUEUE__BACKOFF_BASE_SECONDS": "0.05",
        "LIANXIN_QUEUE__BACKOFF_MAX_SECONDS": "0.2",
        **env,
    }
    return load_settings(environ=environ)


@pytest.fixture()
def sandbox(
    settings: Settings,
    sessions: object,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Sandbox]:
    """Simulators started by the launcher, lianxin's app serving their callbacks."""
    monkeypatch.chdir(tmp_path)  # no developer's ./lianxin.toml
    monkeypatch.delenv("LIANXIN_CONFIG", raising=False)
    late = LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    lines: list[str] = []
    handle = start_sandbox(
        settings, host="127.0.0.1", port=server.server_port, announce=lines.append
    )
    for name, value in handle.env.items():
        if not name.startswith("LIANXIN_"):
            monkeypatch.setenv(name, value)  # how the web child finds the simulators
    child = child_settings(settings, handle.env)
    conn = q.connect(child.redis.url)
    rt = Runtime(child, handle.engine, handle_sessions(handle), child.redis.url, conn)
    runtime_mod.install(rt)
    late.app = create_app(runtime=rt)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Sandbox(handle, rt, late.app.test_client(), lines)
    finally:
        handle.stop()
        server.shutdown()
        server.server_close()
        runtime_mod.install(None)
        delete_keys(conn, child.redis.queue_prefix)


def handle_sessions(handle: SandboxHandle) -> Any:
    """A session factory on the launcher's engine (the same database as the test's)."""
    from storage.db import make_session_factory

    return make_session_factory(handle.engine)
