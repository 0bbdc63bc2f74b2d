"""Processes that heal: through a Redis or database outage, log once, back off, reconnect, resume.

`keep_running` wraps a long-running loop (rq's worker, the cron scheduler, the DingTalk
stream). When the loop dies of an outage, or quits because of one, we wait with capped,
jittered backoff until both Redis and the database answer again, then start the loop anew.
An outage is logged when it begins and when it ends, never once per retry.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable

import redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from bot import embedded_redis
from bot.runtime import Runtime

log = logging.getLogger("lianxin.healing")

OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OperationalError,
)
BACKOFF_BASE = 0.5
BACKOFF_CAP = 5.0  # Redis back: work resumes within this (plus jitter)
STABLE_AFTER = 30.0  # a loop that ran this long before failing resets the backoff


def _what(exc: BaseException) -> str:
    return "Redis" if isinstance(exc, redis.RedisError) else "the database"


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:200]


class Outage:
    """Remembers whether an outage is going on, so it is logged once at each end."""

    def __init__(self, name: str, on_retry: Callable[[], object] | None = None) -> None:
        self.name = name
        self.since: float | None = None
        self.on_retry = on_retry  # called on every failed attempt (revive an embedded server)
        self._lock = threading.Lock()

    def begin(self, exc: BaseException | str) -> None:
        """Note a failed attempt; the first one of an outage is logged."""
        if self.on_retry is not None:
            try:
                self.on_retry()
            except Exception as err:  # it is only a helping hand: the retries go on
                log.debug("%s: %s", self.name, err)
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
        what = _what(exc) if isinstance(exc, BaseException) else "Redis"
        detail = _short(exc) if isinstance(exc, BaseException) else exc
        log.warning("%s: %s unavailable (%s); retrying until it is back", self.name, what, detail)

    def end(self) -> None:
        """Note a success; the first one after an outage is logged."""
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            log.warning(
                "%s: connection is back after %.0fs; resuming", self.name, time.monotonic() - since
            )


def probe(rt: Runtime) -> BaseException | None:
    """None when Redis and the database both answer, else the error."""
    try:
        revive_embedded(rt)
        rt.redis.ping()
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (redis.RedisError, DBAPIError) as exc:
        return exc
    return None


def revive_embedded(rt: Runtime) -> None:
    """The embedded default: if its redis-server is gone (watchdog killed), start it again."""
    if not rt.settings.redis.url:
        embedded_redis.revive(rt.settings.var_dir)


def backoff(failures: int, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform(c/2, c), c = min(cap, base·2^(n-1))."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(failures - 1, 0))
    return rng.uniform(ceiling / 2, ceiling)


def keep_running(name: str, rt: Runtime, run_once: Callable[[], bool], outage: Outage) -> int:
    """Call `run_once` until it returns True (stopped or finished), healing through outages.

    `run_once` returning False means the loop quit by itself (rq does that on errors it has
    logged); an exception from OUTAGE_ERRORS means it died of an outage. Either way: wait until
    Redis and the database answer, then run it again. Other exceptions are bugs: they end the
    process, and the supervisor (or systemd) restarts it.
    """
    stopping = threading.Event()
    rng = random.Random()
    failures = 0
    while not stopping.is_set():
        began = time.monotonic()
        try:
            if run_once():
                return 0
        except OUTAGE_ERRORS as exc:
            outage.begin(exc)
        _stop_on_signals(stopping)  # the loop's own handlers are gone with it
        failures = 1 if time.monotonic() - began >= STABLE_AFTER else failures + 1
        stopping.wait(backoff(failures, rng))
        while not stopping.is_set() and (exc_now := probe(rt)) is not None:
            outage.begin(exc_now)
            failures += 1
            stopping.wait(backoff(failures, rng))
        if not stopping.is_set():
            outage.end()
    log.info("%s: stopped", name)
    return 0


def _stop_on_signals(stopping: threading.Event) -> None:
    def handler(_signum: int, _frame: object) -> None:
        stopping.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, handler)


class OutageLogFilter(logging.Filter):
    """Turns rq's outage lines (one per retry, or a traceback when Redis vanished mid-job)
    into the one line of our outage."""

    MARKER = "could not connect to Redis"

    def __init__(self, outage: Outage) -> None:
        super().__init__()
        self.outage = outage

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop rq's records about the outage; the outage logs itself once."""
        exc = _outage_cause(record.exc_info[1] if record.exc_info else None)
        if exc is not None:
            self.outage.begin(exc)
            return False
        if self.MARKER in str(record.msg):
            self.outage.begin(record.getMessage().split(": ", 2)[-1][:200])
            return False
        return True


def _outage_cause(exc: BaseException | None) -> BaseException | None:
    # rq re-raises inside its handlers: look down the chain of causes and contexts
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OUTAGE_ERRORS):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None
