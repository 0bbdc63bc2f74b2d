"""The long-running loops of `lianxin worker` and `lianxin scheduler`, kept alive by bot.healing."""

from __future__ import annotations

import logging
from types import FrameType

from rq import SimpleWorker
from rq.cron import CronScheduler

from bot import jobs
from bot.healing import Outage, OutageLogFilter, keep_running
from bot.queue import ALL_QUEUES, PERIODIC_QUEUE
from bot.runtime import Runtime


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


def run_worker(rt: Runtime, *, burst: bool, logging_level: str) -> int:
    """Process jobs from every lianxin queue until stopped, through Redis/database outages."""
    outage = Outage("worker")
    logging.getLogger("rq.worker").addFilter(OutageLogFilter(outage))

    def once() -> bool:
        # a new worker each time: rq refuses to register a name that is still marked alive
        worker = HealingWorker([rt.queue(n) for n in ALL_QUEUES], connection=rt.redis)
        worker.outage = outage
        worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
        return burst or worker.stop_signalled

    return keep_running("worker", rt, once, outage)


def run_scheduler(rt: Runtime, *, logging_level: str) -> int:
    """Enqueue the periodic jobs (the sweeper first of all) until stopped, through outages."""
    outage = Outage("scheduler")
    queue_name = rt.queue(PERIODIC_QUEUE).name

    def once() -> bool:
        cron = CronScheduler(connection=rt.redis, logging_level=logging_level)
        for func, every in jobs.PERIODIC(rt.settings):
            cron.register(func, queue_name=queue_name, interval=every, result_ttl=60)
        cron.start()  # returns only when asked to stop; an outage raises
        return True

    return keep_running("scheduler", rt, once, outage)
