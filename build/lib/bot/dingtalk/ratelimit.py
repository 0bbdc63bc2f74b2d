"""One rate limiter per DingTalk API path, shared by every worker process through Redis.

DingTalk allows 20 calls per second per app per API and counts them in a rolling second
(dingtalk.md §4.6). A burst that fits one worker's clock can still overflow the server's window,
so calls are spaced evenly (GCRA: each call reserves the next free slot `1/qps` after the last
one) instead of letting N calls through at the top of each second. The reservation happens in
one Lua script on the Redis clock, so processes on different machines agree on the schedule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

# KEYS[1] = the path's "theoretical arrival time" (µs, Redis clock)
# ARGV[1] = interval between calls (µs), ARGV[2] = longest wait a caller accepts (µs)
# Returns the µs to wait before calling (slot reserved), or -wait when that is too long (nothing
# reserved, so a caller who gives up does not push everybody else back).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > tonumber(ARGV[2]) then return -wait end
local next_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX',
           math.floor((next_tat - now) / 1000) + 1000)
return wait
"""

# Push the schedule back after the server said "too fast": nobody calls that path before `now +
# pause`. Returns nothing.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_ = now + tonumber(ARGV[1])
if tat < until_ then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX',
             math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
"""


class RateLimited(Exception):
    """No slot within the caller's patience; try again after `retry_after` seconds."""

    def __init__(self, path: str, retry_after: float) -> None:
        super().__init__(f"rate limit for {path}: next slot in {retry_after:.2f}s")
        self.path = path
        self.retry_after = retry_after


class RateLimiter:
    """Evenly spaced calls per API path at `qps`, reserved in Redis under `key_prefix`."""

    def __init__(
        self,
        conn: redis.Redis,
        key_prefix: str,
        qps: float,
        *,
        max_wait: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.conn = conn
        self.key_prefix = key_prefix
        self.interval_us = int(1_000_000 / qps)
        self.max_wait_us = int(max_wait * 1_000_000)
        self.sleep = sleep
        self._reserve = conn.register_script(_RESERVE)
        self._pause = conn.register_script(_PAUSE)

    def key(self, path: str) -> str:
        """The Redis key holding the schedule of one API path."""
        return f"{self.key_prefix}:{path}"

    def reserve(self, path: str) -> float:
        """Reserve the next slot for `path`; return the seconds to wait, or raise RateLimited."""
        wait_us = int(
            self._reserve(keys=[self.key(path)], args=[self.interval_us, self.max_wait_us])
        )
        if wait_us < 0:
            raise RateLimited(path, -wait_us / 1_000_000)
        return wait_us / 1_000_000

    def acquire(self, path: str) -> float:
        """Wait for this process's slot on `path` (at most `max_wait`); returns the time waited."""
        wait = self.reserve(path)
        if wait > 0:
            self.sleep(wait)
        return wait

    def pause(self, path: str, seconds: float) -> None:
        """Hold every caller of `path` back for `seconds` (after the server refused a call)."""
        self._pause(keys=[self.key(path)], args=[int(seconds * 1_000_000)])
