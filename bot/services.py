"""The long-running loops of `lianxin worker` and `lianxin scheduler`, kept alive by bot.healing."""

from __future__ import annotations

import ctypes
import logging
import random
import signal
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from rq import SimpleWorker
from rq.cron import CronScheduler
from rq.scheduler import RQScheduler

from bot.healing import (
    OUTAGE_ERRORS,
    Outage,
    OutageLogFilter,
    backoff,
    keep_running,
    revive_embedded,
)
from bot.pipeline import periodic, send_pool
from bot.pipeline.outbox_jobs import send_one
from bot.queue import ALL_QUEUES, PERIODIC_QUEUE
from bot.runtime import Runtime

# rows waiting in a worker's send pool per thread before new ones go to rq for other workers
SEND_BACKLOG_PER_THREAD = 4
SEND_POOL_GRACE = 20.0  # seconds a stopping worker gives its pool to finish what it took


class HealingWorker(SimpleWorker):
    """rq's in-process worker; remembers a stop request and reports Redis coming back."""

    # rq retries a lost connection itself, doubling its wait up to this many seconds: keep it
    # short so jobs resume soon after Redis returns
    max_connection_wait_time = 5.0
    outage: Outage | None = None
    stop_signalled = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        """SIGTERM/SIGINT: finish the current job, then stop (and do not start again)."""
        self.stop_signalled = True
        super().request_stop(signum, frame)

    def heartbeat(self, *args: object, **kwargs: object) -> None:
        """rq's heartbeat; a successful one ends an outage rq was riding out."""
        super().heartbeat(*args, **kwargs)  # type: ignore[arg-type]
        if self.outage is not None:
            self.outage.end()


class HealingScheduler(RQScheduler):
    """rq's scheduler process (moves due `enqueue_in` jobs to their queue), outage-proof.

    rq's own dies on a lost connection and is revived only by the worker's 10-minute
    maintenance; this one rides the outage out, and dies with its worker (even on SIGKILL).
    """

    outage: Outage | None = None

    def work(self) -> None:
        """rq's scheduling loop, started again after an outage until a stop is requested."""
        try:  # we are the worker's forked child: go when it goes
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except OSError:
            pass
        self.outage = Outage("worker's job scheduler")
        rng, failures = random.Random(), 0
        while not self._stop_requested:
            try:
                super().work()
                return
            except OUTAGE_ERRORS as exc:
                self.outage.begin(exc)
                failures += 1
                time.sleep(backoff(failures, rng))

    def register_birth(self) -> None:
        """rq's registration; succeeding after an outage ends it."""
        super().register_birth()
        if self.outage is not None:
            self.outage.end()


def run_worker(rt: Runtime, *, burst: bool, logging_level: str) -> int:
    """Process jobs from every lianxin queue until stopped, through Redis/database outages."""
    outage = Outage("worker", on_retry=lambda: revive_embedded(rt))
    logging.getLogger("rq.worker").addFilter(OutageLogFilter(outage))
    queues = [rt.queue(n) for n in ALL_QUEUES]

    def once() -> bool:
        # a new worker each time: rq refuses to register a name that is still marked alive
        worker = HealingWorker(queues, connection=rt.redis)
        worker.outage = outage
        # burst: rq's scheduler enqueues what is due once; otherwise ours runs alongside
        worker.work(burst=burst, with_scheduler=burst, logging_level=logging_level)
        return burst or worker.stop_signalled

    mover: BaseProcess | None = None
    if not burst:
        mover = HealingScheduler(queues, connection=rt.redis, logging_level=logging_level).start()
    pool = _start_send_pool(rt)
    try:
        return keep_running("worker", rt, once, outage)
    finally:
        if pool is not None:
            send_pool.install(None)
            pool.close(timeout=SEND_POOL_GRACE)  # what is left is pending: the sweeper sends it
        if mover is not None:
            mover.terminate()  # SIGTERM: rq's scheduler releases its locks and stops
            mover.join(10)


def _start_send_pool(rt: Runtime) -> send_pool.SendPool | None:
    threads = rt.settings.queue.send_threads
    if threads <= 0:
        return None
    pool = send_pool.SendPool(rt, send_one, threads, backlog=SEND_BACKLOG_PER_THREAD * threads)
    send_pool.install(pool)
    return pool


def run_scheduler(rt: Runtime, *, logging_level: str) -> int:
    """Enqueue the periodic jobs (the sweeper first of all) until stopped, through outages."""
    outage = Outage("scheduler", on_retry=lambda: revive_embedded(rt))
    queue_name = rt.queue(PERIODIC_QUEUE).name

    def once() -> bool:
        cron = CronScheduler(connection=rt.redis, logging_level=logging_level)
        for func, every in periodic.PERIODIC(rt.settings):
            cron.register(func, queue_name=queue_name, interval=every, result_ttl=60)
        cron.start()  # returns only when asked to stop; an outage raises
        return True

    return keep_running("scheduler", rt, once, outage)
