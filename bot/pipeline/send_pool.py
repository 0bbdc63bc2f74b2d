"""A worker's own senders: new outbox rows go out at once, several at a time, in this process.

A conversation's row produces several sends (the acknowledgement, the case card, a refresh),
each waiting ~100 ms on a platform. Sent one after another by rq jobs, every send also pays an
rq job's Redis round trips and waits behind the queue. A `lianxin worker` therefore hands the
rows its own jobs create to a bounded thread pool: `send` threads run `send_one` concurrently
while the worker goes on with the next inbox row.

Nothing about delivery changes: each thread leases its row in the database exactly as an rq
send job does, so per-recipient order (a row waits for its predecessor, whose success sends the
next), the platforms' rate limits (shared in Redis) and exactly-once hold as before. A row the
pool has not finished when the process dies is still pending or leased in the database, and
the sweeper sends it. When the pool's backlog is full, rows go to rq for other workers.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from bot.runtime import Runtime

log = logging.getLogger(__name__)


class SendPool:
    """`threads` senders with at most `backlog` rows waiting; `offer` never blocks."""

    def __init__(
        self, rt: Runtime, send: Callable[[Runtime, int], object], threads: int, backlog: int
    ) -> None:
        self.rt = rt
        self._send = send
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lianxin-send")
        self._backlog = backlog
        self._waiting = 0
        self._lock = threading.Lock()
        self._closed = False
        self._idle = threading.Condition(self._lock)

    def offer(self, outbox_ids: Iterable[int]) -> list[int]:
        """Take what fits; the ids that did not fit (for rq) are returned."""
        rest: list[int] = []
        for outbox_id in outbox_ids:
            with self._lock:
                take = not self._closed and self._waiting < self._backlog
                if take:
                    self._waiting += 1
            if take:
                self._executor.submit(self._run, outbox_id)
            else:
                rest.append(outbox_id)
        return rest

    def _run(self, outbox_id: int) -> None:
        try:
            self._send(self.rt, outbox_id)
        except Exception:  # the row stays pending or leased in the database: the sweeper has it
            log.exception("outbox %s: send in the worker's pool failed", outbox_id)
        finally:
            with self._lock:
                self._waiting -= 1
                self._idle.notify_all()

    def pending(self) -> int:
        """Rows taken and not finished."""
        with self._lock:
            return self._waiting

    def close(self, timeout: float) -> bool:
        """Take no more rows; wait up to `timeout` s for those taken; True when all finished."""
        with self._lock:
            self._closed = True
            done = self._idle.wait_for(lambda: self._waiting == 0, timeout)
        self._executor.shutdown(wait=done, cancel_futures=not done)
        if not done:
            log.warning("%s send(s) left to the sweeper at exit", self.pending())
        return done


_pool: SendPool | None = None


def install(pool: SendPool | None) -> None:
    """Make `pool` this process's senders (a worker at start; None at exit)."""
    global _pool
    _pool = pool


def offer(rt: Runtime, outbox_ids: list[int]) -> list[int]:
    """Hand rows to this process's pool if it has one for `rt`; the ids left for rq."""
    pool = _pool
    if pool is None or pool.rt is not rt:
        return outbox_ids
    return pool.offer(outbox_ids)
