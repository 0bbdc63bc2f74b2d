"""`lianxin run`: one supervised process group; Ctrl-C (or SIGTERM) stops every child cleanly."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 10.0


@dataclass
class Child:
    """One supervised process and how to start it again."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the child if the supervisor dies, even by SIGKILL,
    # so no worker or web process outlives `lianxin run`.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
    # Ctrl-C goes to the whole foreground group; let the supervisor decide the stop order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Supervisor:
    """Start children, restart the ones that die, stop them all on request."""

    def __init__(self, children: list[Child], env: Mapping[str, str]) -> None:
        self.children = children
        self.env = dict(env)
        self.stopping = False

    def start(self, child: Child) -> None:
        """Start (or restart) one child."""
        child.proc = subprocess.Popen(child.argv, env=self.env, preexec_fn=_die_with_parent)
        log.info("started %s (pid %s)", child.name, child.proc.pid)

    def run(self) -> int:
        """Supervise until SIGINT/SIGTERM; return the exit status."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        for child in self.children:
            self.start(child)
        while not self.stopping:
            time.sleep(0.5)
            for child in self.children:
                if child.proc is not None and child.proc.poll() is not None and not self.stopping:
                    self._restart(child)
        self.stop_all()
        return 0

    def _restart(self, child: Child) -> None:
        assert child.proc is not None
        child.restarts += 1
        delay = min(30.0, 0.5 * 2 ** min(child.restarts, 6))
        log.warning(
            "%s exited with %s; restarting in %.1fs", child.name, child.proc.returncode, delay
        )
        time.sleep(delay)
        if not self.stopping:
            self.start(child)

    def _request_stop(self, signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.stopping = True

    def stop_all(self) -> None:
        """SIGTERM every child, wait for a grace period, then SIGKILL what is left."""
        live = [c.proc for c in self.children if c.proc is not None and c.proc.poll() is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in live:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %s did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()
        log.info("all processes stopped")


def lianxin_argv(*args: str) -> list[str]:
    """The argv that runs a `lianxin` subcommand with this interpreter."""
    return [sys.executable, "-m", "bot.cli", *args]


def child_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """The environment for children: ours plus settings overrides."""
    env = dict(os.environ)
    env.update(overrides)
    return env
