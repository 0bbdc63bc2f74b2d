"""The shared DingTalk rate limiter against real Redis: the rolling window, calls in flight,
unanswered calls, and threads and processes filling 20 QPS at the simulator without a refusal."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import pytest
import redis

from bot import queue as q
from bot.dingtalk.api import ApiConfig, DingTalkApi
from bot.dingtalk.ratelimit import RateLimited, RateLimiter
from bot.dingtalk.send import BATCH_SEND
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator

BODY = {"userIds": ["u-zhang"], "msgKey": "sampleText", "msgParam": '{"content": "x"}'}


def limiter(rt: Runtime, **kw: Any) -> RateLimiter:
    return RateLimiter(rt.redis, f"{rt.settings.redis.queue_prefix}:rl", **kw)


def redis_now_us(conn: redis.Redis) -> int:
    seconds, micros = conn.time()
    return int(seconds) * 1_000_000 + int(micros)


def api_config(rt: Runtime) -> ApiConfig:
    return ApiConfig.from_settings(rt.settings.dingtalk, rt.settings.redis.queue_prefix)


def test_the_call_limit_admissions_back_must_be_answered_a_window_ago(rt: Runtime) -> None:
    lim = limiter(rt, qps=100, limit=5, window=0.5)
    first = [lim.acquire("/x") for _ in range(5)]  # 100 QPS spacing: 5 calls in ~50 ms
    answered_at = time.monotonic()
    for a in first:
        lim.answered(a, answered_at)
    sixth = lim.acquire("/x")
    # the sixth waits until the first's answer is a window old, not for a free spacing slot
    assert sixth.admitted_us - first[0].admitted_us >= 500_000
    assert sixth.admitted_us - first[0].admitted_us < 500_000 + 150_000
    assert lim.acquire("/other").waited < 0.05  # per API path


def test_a_call_in_flight_holds_the_window_until_it_is_answered(rt: Runtime) -> None:
    lim = limiter(rt, qps=100, limit=3, window=0.3, max_wait=0.4, in_flight_cap=30)
    slow = lim.acquire("/x")  # never answered yet
    for a in [lim.acquire("/x") for _ in range(2)]:
        lim.answered(a)
    with pytest.raises(RateLimited):
        lim.acquire("/x")  # the slow call may reach the server any moment: no slot
    time.sleep(0.1)
    lim.answered(slow)
    answered_us = redis_now_us(rt.redis)
    nxt = lim.acquire("/x")
    assert nxt.admitted_us >= answered_us + 300_000 - 20_000  # a window after the answer
    assert nxt.waited < 0.4


def test_an_unanswered_call_counts_until_its_in_flight_cap(rt: Runtime) -> None:
    lim = limiter(rt, qps=100, limit=2, window=0.2, max_wait=2.0, in_flight_cap=0.5)
    lost = lim.acquire("/x")  # e.g. the request timed out: never marked answered
    lim.answered(lim.acquire("/x"))
    third = lim.acquire("/x")
    assert third.admitted_us - lost.admitted_us >= 500_000 + 200_000


def test_a_pause_holds_every_caller_back(rt: Runtime) -> None:
    lim = limiter(rt, qps=10, max_wait=0.5)
    lim.pause("/y", 0.8)
    with pytest.raises(RateLimited):
        lim.reserve("/y")  # beyond the default patience
    assert lim.reserve("/y", max_wait=1.0) == pytest.approx(0.8, abs=0.05)


def overfilled(calls: list[tuple[float, float]], limit: int, window: float) -> bool:
    """True if some `limit + 1` calls (send, answer) could have reached a server within less
    than `window`: the latest send among them minus the earliest answer."""
    for i, (start, _) in enumerate(calls):
        ends = sorted((e for j, (s, e) in enumerate(calls) if j != i and s <= start), reverse=True)
        if len(ends) >= limit and ends[limit - 1] > start - window:
            return True
    return False


def test_the_window_check_sees_an_overfilled_window() -> None:
    evenly = [(i * 0.05, i * 0.05 + 0.004) for i in range(60)]
    assert not overfilled(evenly, 20, 1.0 - 0.005)
    assert overfilled(evenly, 20, 1.0)  # 21 calls reaching the server within 1.004 s


def test_threads_sharing_the_limiter_never_overfill_a_window(rt: Runtime) -> None:
    limiters = [limiter(rt, qps=40, max_wait=5.0) for _ in range(6)]
    calls: list[tuple[float, float]] = []
    lock = threading.Lock()

    def work(lim: RateLimiter) -> None:
        for _ in range(15):
            a = lim.acquire("/x")
            sent = time.time()  # the wall clock, like Redis TIME on this machine
            time.sleep(0.002)  # the call
            answered = time.time()
            lim.answered(a)
            with lock:
                calls.append((sent, answered))

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(lim,)) for lim in limiters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 90
    assert not overfilled(calls, 40, 1.0)
    assert time.monotonic() - started >= 2.0  # 90 calls at 40 per rolling second


def _send_batch(cfg: ApiConfig, redis_url: str, calls: int, start: Any) -> None:
    """A worker process: `calls` batchSends through its own DingTalkApi and Redis connection."""
    api = DingTalkApi(q.connect(redis_url), cfg, max_wait=30.0)
    body = {"robotCode": cfg.robot_code, **BODY}
    start.wait()
    for _ in range(calls):
        api.call("POST", BATCH_SEND, body)


def test_processes_and_threads_fill_20_qps_at_the_simulator_without_a_refusal(
    rt: Runtime, sim: DingTalkSimulator
) -> None:
    cfg = api_config(rt)
    assert cfg.qps == 20
    DingTalkApi(rt.redis, cfg).tokens.get()  # one token, shared through Redis
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [
        ctx.Process(target=_send_batch, args=(cfg, rt.settings.redis.url, 15, start))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    local = [DingTalkApi(rt.redis, cfg, max_wait=30.0) for _ in range(3)]
    body = {"robotCode": cfg.robot_code, **BODY}
    threads = [
        threading.Thread(target=lambda a=a: [a.call("POST", BATCH_SEND, body) for _ in range(15)])
        for a in local
    ]
    time.sleep(3.0)  # the spawned interpreters import the project
    started = time.monotonic()
    start.set()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    elapsed = time.monotonic() - started
    sent = [e for e in sim.private_view("u-zhang") if e["sender"] == "robot"]
    assert len(sent) == 90
    assert sim.state()["stats"]["qps_rejected"] == {}  # at the full 20, not 19 or 16
    assert elapsed >= (90 - 20) / 20  # never faster than the server allows
    accepted = sorted(e["time"] for e in sent)
    rate = (len(accepted) - 1) / ((accepted[-1] - accepted[0]) / 1000)
    assert rate <= 20.0
