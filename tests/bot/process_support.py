"""Counting the processes a test started: embedded redis-servers of a var/, and their kin."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from bot.embedded_redis import redis_dir, socket_path

ROOT = Path(__file__).parents[2]


def redis_servers(var_dir: Path) -> list[int]:
    """Pids of live redis-server processes serving `var_dir`'s embedded socket."""
    sock = str(socket_path(redis_dir(var_dir)))
    pids = []
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if "redis-server" in (proc.info["name"] or "") and sock in cmdline:
                pids.append(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return pids


def settle(count: Callable[[], int], want: int, timeout: float = 30.0) -> int:
    """Wait until `count()` equals `want` (processes take a moment to exit); the last count."""
    deadline = time.monotonic() + timeout
    seen = count()
    while seen != want and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = count()
    return seen


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """Our environment minus any developer config, with `var_dir` as the data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN")}
    env.update(LIANXIN_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def lianxin(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start `lianxin ARGS` as the leader of a new process group (as a terminal would)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_line(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Wait until `text` appears in the log; fail with the log's tail if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"no {text!r} in the log:\n{log.read_text(errors='replace')[-3000:]}")


def ctrl_c(proc: subprocess.Popen[bytes]) -> None:
    """What Ctrl-C in a terminal does: SIGINT to the whole foreground process group."""
    os.killpg(proc.pid, signal.SIGINT)
