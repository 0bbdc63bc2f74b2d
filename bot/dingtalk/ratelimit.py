"""One rate limiter per DingTalk API path, shared by every worker process through Redis.

DingTalk allows 20 calls per second per app per API (dingtalk.md §4.6); the reference does not
say how the server cuts its seconds, so the limiter assumes the strictest reading, a rolling
second (which is also how the simulator counts): no 1 s interval may hold more than `limit`
calls as the server sees them. Any fixed-window count the real server might use is then kept
too, since each of its windows is one such interval.

The server sees a call at some instant between our sending it and our reading its answer. So
each call is recorded as the interval [admitted, answered] on one clock (Redis TIME), and a call
is admitted only when the call `limit` admissions before it, and every older one, was answered
at least one window ago. Then any `limit + 1` calls lie more than a window apart at the server,
whatever the network and the machines' load do to them. The cost is one round trip per window,
not a fixed margin: 20 calls per (1 s + answer time) instead of 19 per second.

A call whose answer never came (timeout, worker killed) may still reach the server later; it
counts as answered at `admitted + in_flight_cap` (twice the HTTP timeout, plus a second).

In front of that window check, calls are also spaced evenly (GCRA: each caller reserves the next
free slot `1/qps` after the last one), so workers do not send `limit` calls in one burst and then
wait, and callers queue in order instead of polling all at once. Every decision is one Lua
script on the Redis clock, so processes on different machines agree.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

MARGIN_US = 1000  # rounding to µs and clock-rate differences between Redis and the server

# KEYS[1] = the path's hash: `tat` (GCRA's theoretical arrival time, µs, Redis clock)
# ARGV[1] = interval between calls (µs), ARGV[2] = longest wait a caller accepts (µs)
# Returns the µs to wait before the window check (slot reserved), or -wait when that is too
# long (nothing reserved, so a caller who gives up does not push everybody else back).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > tonumber(ARGV[2]) then return -wait end
redis.call('HSET', KEYS[1], 'tat', string.format('%d', tat + tonumber(ARGV[1])))
redis.call('PEXPIRE', KEYS[1], math.floor((wait + tonumber(ARGV[1])) / 1000) + 60000)
return wait
"""

# The window check. KEYS[1] = hash (`floor` = latest answer among calls that left the list,
# `seq`, `tat`, `e:<seq>` = answer time or provisional bound, `d:<seq>` = answered),
# KEYS[2] = list of the last `limit` admitted seqs (oldest first), KEYS[3] = set of seqs that
# left the list before their answer came.
# ARGV[1] = limit, ARGV[2] = window (µs), ARGV[3] = in-flight cap (µs), ARGV[4] = interval (µs),
# ARGV[5] = safety margin (µs)
# Returns {seq, now} when admitted (the call may go now), or {0, wait µs, in_flight} when not:
# wait is exact when the blocking calls were answered, a provisional bound when in_flight = 1.
_ADMIT = """
local h, lst, open = KEYS[1], KEYS[2], KEYS[3]
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local floor = tonumber(redis.call('HGET', h, 'floor') or '0')
local bound, in_flight = floor, 0
for _, s in ipairs(redis.call('SMEMBERS', open)) do
  local e = tonumber(redis.call('HGET', h, 'e:' .. s) or '0')
  if e + window < now then
    redis.call('SREM', open, s)
    redis.call('HDEL', h, 'e:' .. s, 'd:' .. s)
  elseif e > bound then
    bound, in_flight = e, 1
  end
end
if redis.call('LLEN', lst) >= limit then
  local s = redis.call('LINDEX', lst, 0)
  local e = tonumber(redis.call('HGET', h, 'e:' .. s) or '0')
  if e > bound then
    bound = e
    in_flight = redis.call('HEXISTS', h, 'd:' .. s) == 1 and 0 or 1
  end
end
local earliest = bound + window + tonumber(ARGV[5])
if earliest > now then return {0, earliest - now, in_flight} end
local seq = redis.call('HINCRBY', h, 'seq', 1)
redis.call('HSET', h, 'e:' .. seq, string.format('%d', now + tonumber(ARGV[3])))
redis.call('RPUSH', lst, seq)
if redis.call('LLEN', lst) > limit then
  local s = redis.call('LPOP', lst)
  if redis.call('HEXISTS', h, 'd:' .. s) == 1 then
    local e = tonumber(redis.call('HGET', h, 'e:' .. s))
    if e > floor then redis.call('HSET', h, 'floor', string.format('%d', e)) end
    redis.call('HDEL', h, 'e:' .. s, 'd:' .. s)
  else
    redis.call('SADD', open, s)
  end
end
local tat = tonumber(redis.call('HGET', h, 'tat') or '0')
if tat < now + tonumber(ARGV[4]) then
  redis.call('HSET', h, 'tat', string.format('%d', now + tonumber(ARGV[4])))
end
local ttl = math.floor((tonumber(ARGV[3]) + window) / 1000) + 60000
for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, ttl) end
return {seq, now}
"""

# The answer of call ARGV[1] came back by Redis time ARGV[2] (µs): lower its bound to that.
_ANSWERED = """
local h, open, s = KEYS[1], KEYS[2], ARGV[1]
local e = tonumber(redis.call('HGET', h, 'e:' .. s) or '-1')
if e < 0 then return 0 end
local answered = math.min(e, tonumber(ARGV[2]))
if redis.call('SISMEMBER', open, s) == 1 then
  redis.call('SREM', open, s)
  redis.call('HDEL', h, 'e:' .. s, 'd:' .. s)
  if answered > tonumber(redis.call('HGET', h, 'floor') or '0') then
    redis.call('HSET', h, 'floor', string.format('%d', answered))
  end
else
  redis.call('HSET', h, 'e:' .. s, string.format('%d', answered), 'd:' .. s, '1')
end
return 1
"""

# Push the schedule back after the server said "too fast": nobody calls that path before
# `now + pause`.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'tat') or '0') < until_ then
  redis.call('HSET', KEYS[1], 'tat', string.format('%d', until_))
  redis.call('PEXPIRE', KEYS[1], math.floor(tonumber(ARGV[1]) / 1000) + 60000)
end
return 0
"""


class RateLimited(Exception):
    """No slot within the caller's patience; try again after `retry_after` seconds."""

    def __init__(self, path: str, retry_after: float) -> None:
        super().__init__(f"rate limit for {path}: next slot in {retry_after:.2f}s")
        self.path = path
        self.retry_after = retry_after


@dataclass(frozen=True)
class Admission:
    """One admitted call: its place in the path's window and when it was let go."""

    path: str
    seq: int
    admitted_us: int  # Redis clock
    asked_at: float  # time.monotonic() just before the admitting script was sent
    waited: float


class RateLimiter:
    """At most `limit` calls per rolling `window` per API path, spaced at `qps`, in Redis."""

    def __init__(
        self,
        conn: redis.Redis,
        key_prefix: str,
        qps: float,
        *,
        limit: int | None = None,
        window: float = 1.0,
        max_wait: float = 2.0,
        in_flight_cap: float = 11.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.conn = conn
        self.key_prefix = key_prefix
        self.interval_us = int(1_000_000 / qps)
        self.limit = limit if limit is not None else max(int(qps * window), 1)
        self.window_us = int(window * 1_000_000)
        self.max_wait = max_wait
        self.cap_us = int(in_flight_cap * 1_000_000)
        self.sleep = sleep
        self._reserve = conn.register_script(_RESERVE)
        self._admit = conn.register_script(_ADMIT)
        self._answered = conn.register_script(_ANSWERED)
        self._pause = conn.register_script(_PAUSE)

    def key(self, path: str) -> str:
        """The Redis key holding the schedule of one API path (its list and set add a suffix)."""
        return f"{self.key_prefix}:{path}"

    def _keys(self, path: str) -> list[str]:
        base = self.key(path)
        return [base, base + ":calls", base + ":open"]

    def reserve(self, path: str, max_wait: float | None = None) -> float:
        """Reserve the next evenly spaced slot for `path`; the seconds to wait, or RateLimited."""
        patience = self.max_wait if max_wait is None else max_wait
        wait_us = int(
            self._reserve(keys=[self.key(path)], args=[self.interval_us, int(patience * 1e6)])
        )
        if wait_us < 0:
            raise RateLimited(path, -wait_us / 1_000_000)
        return wait_us / 1_000_000

    def try_admit(self, path: str) -> Admission | tuple[float, bool]:
        """Admit one call now if the window allows; else (seconds to wait, blocked by a call
        still in flight)."""
        asked_at = time.monotonic()
        args = [self.limit, self.window_us, self.cap_us, self.interval_us, MARGIN_US]
        reply = [int(x) for x in self._admit(keys=self._keys(path), args=args)]
        if reply[0] > 0:
            return Admission(path, reply[0], reply[1], asked_at, 0.0)
        return reply[1] / 1_000_000, bool(reply[2])

    def acquire(self, path: str, max_wait: float | None = None) -> Admission:
        """Wait for an admitted slot on `path` (at most `max_wait` in all); call `answered`
        with it once the server replied."""
        patience = self.max_wait if max_wait is None else max_wait
        started = time.monotonic()
        wait = self.reserve(path, patience)
        if wait > 0:
            self.sleep(wait)
        while True:
            got = self.try_admit(path)
            if isinstance(got, Admission):
                waited = time.monotonic() - started
                return Admission(got.path, got.seq, got.admitted_us, got.asked_at, waited)
            wait, in_flight = got
            left = patience - (time.monotonic() - started)
            if not in_flight and wait > left:
                raise RateLimited(path, wait)
            if left <= 0:
                raise RateLimited(path, min(wait, 1.0))
            # a blocking call still in flight is answered at `now` at the earliest, and admits
            # the next call a window after its answer: looking again sooner only loads Redis
            self.sleep(min(wait, self.window_us / 1_000_000, left) if in_flight else wait)

    def answered(self, admission: Admission, answered_at: float | None = None) -> None:
        """The server answered `admission`'s call by `answered_at` (time.monotonic(), default
        now): its bound on the Redis clock is the admission plus the time elapsed since the
        admitting script was sent, an upper bound whatever the clocks' offsets."""
        at = time.monotonic() if answered_at is None else answered_at
        bound = admission.admitted_us + int((at - admission.asked_at) * 1_000_000) + 1
        keys = self._keys(admission.path)
        self._answered(keys=[keys[0], keys[2]], args=[admission.seq, bound])

    def pause(self, path: str, seconds: float) -> None:
        """Hold every caller of `path` back for `seconds` (after the server refused a call)."""
        self._pause(keys=[self.key(path)], args=[int(seconds * 1_000_000)])
