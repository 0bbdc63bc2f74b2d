"""`lianxin run`: one supervised process group; Ctrl-C (or SIGTERM) stops every child cleanly.

A child that dies is restarted with exponential backoff; one that keeps dying fast (too many
exits within a window) makes the supervisor give up, say so, stop the rest and exit non-zero,
so a broken setup is not hidden behind an endless restart loop. A child that exits with a
configuration error (2, or 78: cannot listen on its port) is never restarted.
"""

from __future__ import annotations

import ctypes
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 10.0
FATAL_EXIT_CODES = frozenset({2, 78})  # bad configuration, cannot listen: restarts cannot help


@dataclass(frozen=True)
class RestartPolicy:
    """When and how often to restart a child that died."""

    base_seconds: float = 1.0
    cap_seconds: float = 30.0
    stable_seconds: float = 60.0  # a child that lived this long starts its count afresh
    max_fast_exits: int = 5  # this many exits of short-lived runs within `window`: give up
    window_seconds: float = 300.0

    def delay(self, fast_exits: int, rng: random.Random) -> float:
        """Backoff before the next start: base·2^(n-1), capped, with ±25% jitter."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(fast_exits - 1, 0))
        return ceiling * rng.uniform(0.75, 1.0)


@dataclass
class Child:
    """One supervised process and how to start it again."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    fast_exits: list[float] = field(default_factory=list)
    due: float | None = None  # when to start it again


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

    def __init__(
        self, children: list[Child], env: Mapping[str, str], policy: RestartPolicy | None = None
    ) -> None:
        self.children = children
        self.env = dict(env)
        self.policy = policy or RestartPolicy()
        self.stopping = False
        self.exit_code = 0
        self._rng = random.Random()

    def start(self, child: Child) -> None:
        """Start (or restart) one child."""
        child.proc = subprocess.Popen(child.argv, env=self.env, preexec_fn=_die_with_parent)
        child.started_at = time.monotonic()
        child.due = None
        log.info("started %s (pid %s)", child.name, child.proc.pid)

    def run(self) -> int:
        """Supervise until SIGINT/SIGTERM or a child that cannot be kept up; the exit status."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._request_stop)
        for child in self.children:
            self.start(child)
        while not self.stopping:
            time.sleep(0.2)
            for child in self.children:
                if self.stopping:
                    break
                self._tend(child)
        self.stop_all()
        return self.exit_code

    def _tend(self, child: Child) -> None:
        if child.due is not None:
            if time.monotonic() >= child.due:
                self.start(child)
                child.restarts += 1
                log.warning("restarted %s (attempt %d)", child.name, child.restarts)
            return
        if child.proc is None or child.proc.poll() is None:
            return
        self._on_exit(child, child.proc.returncode)

    def _on_exit(self, child: Child, code: int) -> None:
        now = time.monotonic()
        if code in FATAL_EXIT_CODES:
            log.error(
                "%s exited with %s (a configuration problem); not restarting", child.name, code
            )
            self._give_up(code)
            return
        if now - child.started_at >= self.policy.stable_seconds:
            child.fast_exits.clear()
        else:
            child.fast_exits = [t for t in child.fast_exits if now - t < self.policy.window_seconds]
            child.fast_exits.append(now)
        if len(child.fast_exits) >= self.policy.max_fast_exits:
            log.error(
                "%s exited %d times within %.0fs (last status %s); giving up and stopping "
                "lianxin: see its log lines above",
                child.name,
                len(child.fast_exits),
                self.policy.window_seconds,
                code,
            )
            self._give_up(1)
            return
        delay = self.policy.delay(max(len(child.fast_exits), 1), self._rng)
        log.warning("%s exited with %s; restarting in %.1fs", child.name, code, delay)
        child.due = now + delay

    def _give_up(self, code: int) -> None:
        self.exit_code = code or 1
        self.stopping = True

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
