"""DingTalk channel fixtures: the simulator, settings pointing at it, a seeded directory, and
the real Stream client (SDK subclass) running in its own thread and event loop."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot.config import DingtalkSettings, Settings
from bot.dingtalk.events import BOT_SOURCE
from bot.dingtalk.stream import StreamOptions
from bot.pipeline.context import dispatch_event
from bot.pipeline.outbox_jobs import enqueue_send
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from handlers.events import ConstituentMessage
from storage.db import is_postgres
from storage.models import (
    Case,
    Constituent,
    Deputy,
    DeputyStation,
    InboxItem,
    Region,
    RosterSlot,
    Staff,
    Station,
)
from storage.outbox import take_new_outbox_ids
from tests.support import StreamThread

ROOT = Path(__file__).resolve().parents[3]
APP_KEY = "dinglianxintest"
APP_SECRET = "lianxin-test-secret"
GROUP = "cidStationSouth=="
USERS = {"u-zhang": "张伟", "u-li": "李娜", "u-chen": "陈静", "u-out": "外人"}
FAST = StreamOptions(
    ping_interval=0.5,
    watchdog=3.0,
    backoff_base=0.05,
    backoff_max=0.3,
    open_timeout=2.0,
    drain_timeout=1.0,
)


def service_env(rt: Runtime) -> dict[str, str]:
    """The environment of a `lianxin` process sharing this test's database, Redis and simulator."""
    s = rt.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIANXIN_")}
    env.update(
        {
            "LIANXIN_VAR_DIR": str(s.var_dir),
            "LIANXIN_DATABASE__URL": s.database_url,
            "LIANXIN_REDIS__URL": s.redis.url,
            "LIANXIN_REDIS__QUEUE_PREFIX": s.redis.queue_prefix,
            "LIANXIN_DINGTALK__CLIENT_ID": s.dingtalk.client_id,
            "LIANXIN_DINGTALK__CLIENT_SECRET": s.dingtalk.client_secret.get_secret_value(),
            "LIANXIN_DINGTALK__OPENAPI_ENDPOINT": s.dingtalk.openapi_endpoint,
            "LIANXIN_DINGTALK__QPS_LIMIT": str(s.dingtalk.qps_limit),
            "LIANXIN_DINGTALK__TIMEOUT_SECONDS": "5",
            "LIANXIN_WECOM__API_BASE": s.wecom.api_base,
            "LIANXIN_QUEUE__BACKOFF_BASE_SECONDS": "0.05",
            "LIANXIN_QUEUE__BACKOFF_MAX_SECONDS": "0.2",
            # a killed worker's rows are taken over 1.5 s later instead of 120 s
            "LIANXIN_QUEUE__LEASE_SECONDS": "1.5",
        }
    )
    if s.insight.model_cache_dir is not None:  # the run's cache: no worker trains it again
        env["LIANXIN_INSIGHT__MODEL_CACHE_DIR"] = str(s.insight.model_cache_dir)
    return env


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, what: str = "") -> None:
    """Poll until predicate() is truthy; fail after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"condition not met in {timeout}s: {what}")


@pytest.fixture()
def sim() -> Iterator[DingTalkSimulator]:
    """A started simulator: the bot's org with four users and one station group.

    The background ticker is idle: redelivery and closes happen only via advance() + tick().
    """
    s = DingTalkSimulator(client_id=APP_KEY, client_secret=APP_SECRET, seed=11, tick_interval=3600)
    s.start()
    for user_id, nick in USERS.items():
        s.add_user(user_id, nick)
    s.add_group(GROUP, "城南联络站", ["u-zhang", "u-li", "u-chen"])
    yield s
    s.stop()


@pytest.fixture()
def settings(settings: Settings, sim: DingTalkSimulator) -> Settings:
    """The test settings with [dingtalk] pointing at the simulator (markdown cards)."""
    dingtalk = DingtalkSettings(
        client_id=APP_KEY,
        client_secret=SecretStr(APP_SECRET),
        openapi_endpoint=sim.endpoint,
        timeout_seconds=3.0,
        qps_limit=20,
    )
    # the WeCom adapter sends the constituents' acks of our test cases: keep it on loopback
    wecom = settings.wecom.model_copy(update={"api_base": "http://127.0.0.1:9/cgi-bin/"})
    return settings.model_copy(update={"dingtalk": dingtalk, "wecom": wecom})


@dataclass(frozen=True)
class Directory:
    """Ids of the seeded rows."""

    station_id: int
    zhang: int
    li: int
    chen: int
    constituent: int


@pytest.fixture()
def directory(sessions: sessionmaker[Session]) -> Directory:
    """A county, one station whose group is GROUP, two deputies, one staff member, a voter."""
    with sessions.begin() as s:
        region = Region(code="K", name="海州区", level="county")
        s.add(region)
        s.flush()
        station = Station(
            code="S1", name="城南联络站", region_id=region.id, dingtalk_group_id=GROUP
        )
        s.add(station)
        s.flush()
        zhang = Deputy(code="D1", name="张伟", dingtalk_user_id="u-zhang")
        li = Deputy(code="D2", name="李娜", dingtalk_user_id="u-li")
        chen = Staff(
            code="ST1",
            name="陈静",
            dingtalk_user_id="u-chen",
            region_id=region.id,
            station_id=station.id,
        )
        voter = Constituent(
            channel="wecom_kf",
            external_id="wm-voter-3a9f",
            open_kfid="kf1",
            station_id=station.id,
        )
        s.add_all([zhang, li, chen, voter])
        s.flush()
        s.add_all(
            [
                DeputyStation(deputy_id=zhang.id, station_id=station.id),
                DeputyStation(deputy_id=li.id, station_id=station.id),
                # 张伟 is on duty every day, so every new case is routed to him
                *(
                    RosterSlot(station_id=station.id, deputy_id=zhang.id, weekday=d)
                    for d in range(7)
                ),
            ]
        )
        return Directory(station.id, zhang.id, li.id, chen.id, voter.id)


def inbox(rt: Runtime, source: str = BOT_SOURCE) -> list[InboxItem]:
    with rt.sessions() as s:
        return list(
            s.scalars(select(InboxItem).where(InboxItem.source == source).order_by(InboxItem.id))
        )


@contextlib.contextmanager
def inbox_locked(rt: Runtime) -> Iterator[Session]:
    """Hold a write lock that makes inbox inserts wait (a slow database)."""
    with rt.sessions() as s, s.begin():
        if is_postgres(rt.engine):
            s.execute(text("LOCK TABLE inbox IN SHARE ROW EXCLUSIVE MODE"))
        else:  # SQLite: the session's BEGIN IMMEDIATE takes the database's write lock
            s.connection()
        yield s


def open_case(rt: Runtime, text: str = "小区门口路灯坏了一个月了") -> int:
    """A voter of the station reports a problem (through the real handlers): the case is
    routed to 张伟 and its cards are queued for the station group and his 1:1 chat."""
    with rt.sessions.begin() as s:
        before = s.scalar(select(func.max(Case.id))) or 0
        n = before + 1
        event = ConstituentMessage(
            channel="wecom_kf",
            external_id="wm-voter-3a9f",
            platform_id=f"kfmsg-{n}-{time.monotonic_ns()}",
            kind="text",
            sent_at=rt.now(s),
            open_kfid="kf1",
            text=text,
        )
        dispatch_event(rt, s, event)
        case_id = s.scalar(select(func.max(Case.id)))
        ids = take_new_outbox_ids(s)
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    assert case_id is not None and case_id > before
    return int(case_id)


StartStream = Callable[..., StreamThread]


@pytest.fixture()
def start_stream(rt: Runtime, sim: DingTalkSimulator) -> Iterator[StartStream]:
    """Start real Stream clients against the simulator; all are stopped after the test."""
    running: list[StreamThread] = []

    def start(options: StreamOptions = FAST, wait: bool = True) -> StreamThread:
        before = sim.connections()
        stream = StreamThread(rt, options)
        running.append(stream)
        if wait:
            assert sim.wait_connections(before + 1), "stream client did not connect"
        return stream

    yield start
    for stream in running:
        stream.stop()
