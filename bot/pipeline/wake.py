"""Waking workers: rq carries "conversation X has work", never the unit of order.

A wake-up job processes whatever is claimable in its conversation (`inbox_jobs`); a lost or
duplicated wake-up costs nothing but latency (the sweeper re-wakes) or one idle query. The web
tier and the stream hand conversations to a `Waker` thread, which batches them into one Redis
round trip, so no Redis call sits on a platform's ack path.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable
from datetime import timedelta

from rq import Queue

from bot.queue import INBOUND_QUEUE
from bot.runtime import Runtime

log = logging.getLogger(__name__)
# by name: the web tier wakes workers without importing the handlers behind the job
PROCESS_CONVERSATION = "bot.pipeline.inbox_jobs.process_conversation"
BATCH_MAX = 500
# a waker gathers for this long after the first request: callbacks arriving together (one kf
# account's, one busy chat's) become one wake-up, and its CPU stays off the request threads.
# One rq enqueue costs ~0.5 ms of the web process's CPU; at 10 ms most batches held one or two
# callbacks and the wake-ups cost as much CPU as recording them. 50 ms is small beside the
# platforms' own latency (a kf pull, a card send) and a fifth of the wake-up CPU.
GATHER_SECONDS = 0.05


def wake(rt: Runtime, conversations: Iterable[str]) -> bool:
    """Enqueue one wake-up per distinct conversation in one round trip; False on Redis trouble
    (logged: the sweeper wakes them once Redis is back)."""
    unique = list(dict.fromkeys(conversations))
    if not unique:
        return True
    jobs = [
        Queue.prepare_data(PROCESS_CONVERSATION, (c,), result_ttl=0, failure_ttl=86400)
        for c in unique
    ]
    try:
        rt.queue(INBOUND_QUEUE).enqueue_many(jobs)
    except Exception as exc:  # redis down, timeouts
        log.warning("%s conversation(s) not woken (%s); the sweeper will", len(unique), exc)
        return False
    return True


def wake_later(rt: Runtime, conversation: str, delay: float) -> None:
    """Wake `conversation` after `delay` seconds (a retry's backoff); the sweeper also would."""
    try:
        rt.queue(INBOUND_QUEUE).enqueue_in(
            timedelta(seconds=delay), PROCESS_CONVERSATION, conversation, result_ttl=0
        )
    except Exception as exc:
        log.warning("retry of %s not scheduled (%s); the sweeper will wake it", conversation, exc)


class Waker:
    """A background thread that batches wake-ups: `submit` never touches the network."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._submitted = self._handled = 0
        self._pid = -1
        self._thread: threading.Thread | None = None

    def submit(self, conversation: str) -> None:
        """Ask for `conversation` to be woken soon (from any thread)."""
        self._ensure_thread()
        with self._cond:
            self._submitted += 1
        self._queue.put(conversation)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far was handed to Redis (or given up on)."""
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._handled >= target, timeout)

    def _ensure_thread(self) -> None:
        # a forked child (gunicorn's workers) does not inherit the parent's thread
        if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
            with self._cond:
                if self._pid != os.getpid() or self._thread is None:
                    if self._pid == -1:  # a clean exit hands what is left to Redis first
                        atexit.register(self.flush, 2.0)
                    self._pid = os.getpid()
                    self._thread = threading.Thread(
                        target=self._run, name="lianxin-waker", daemon=True
                    )
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            time.sleep(GATHER_SECONDS)
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                wake(self.rt, batch)
            except Exception:  # never let the thread die; the sweeper is the safety net
                log.exception("waker batch failed")
            with self._cond:
                self._handled += len(batch)
                self._cond.notify_all()


_wakers: dict[int, tuple[Runtime, Waker]] = {}
_wakers_guard = threading.Lock()


def waker(rt: Runtime) -> Waker:
    """The waker of `rt` in this process."""
    with _wakers_guard:
        found = _wakers.get(id(rt))
        if found is None or found[0] is not rt:
            found = _wakers[id(rt)] = (rt, Waker(rt))
        return found[1]


def flush_all(timeout: float = 10.0) -> bool:
    """Flush every waker of this process (tests, and before a process exits)."""
    with _wakers_guard:
        wakers = [w for _, w in _wakers.values()]
    return all(w.flush(timeout) for w in wakers)
