"""Per-conversation order with real worker processes: one pull returns enter_session and the
text of 30 constituents at once; 3 workers race; every constituent is handled in order."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from storage.models import Case, CaseEvent, Constituent, InboxItem, Message, OutboxItem
from tests.bot.wecom.conftest import STATION_SCENE, Directory
from tests.support import Workers, drain

PEOPLE = [f"wmOrder{n:04d}" for n in range(30)]
STATION = "城南代表联络站"
ACK = "已收到您反映的问题"
CHOOSE = "请选择您要联系的代表联络站"


def _settle(rt: Runtime, workers: Workers, kf_rows: int, kill: random.Random | None) -> None:
    """Wait until `kf_rows` pulled messages are processed and every kf send is done, sweeping
    as `lianxin scheduler` would (and, with `kill`, SIGKILLing a random worker meanwhile)."""

    def done() -> bool:
        with rt.sessions() as s:
            processed = s.scalar(
                select(func.count(InboxItem.id)).where(
                    InboxItem.source == "wecom_kf_msg", InboxItem.status != "pending"
                )
            )
            unsent = s.scalar(
                select(func.count(OutboxItem.id)).where(
                    OutboxItem.channel == "wecom_kf", OutboxItem.status.in_(("pending", "sending"))
                )
            )
        return processed == kf_rows and unsent == 0

    deadline = time.monotonic() + 240
    kills = 6 if kill is not None else 0
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled; worker log:\n{workers.log.read_text()[-4000:]}")
        if kills and kill is not None:
            time.sleep(kill.uniform(0.2, 0.8))
            workers.kill_one(kill)
            kills -= 1
            continue
        sweep()
        time.sleep(0.5)


def _burst(sim: WeComSimulator, act: Callable[[str], object]) -> None:
    """Every constituent acts at once: WeCom sends one callback, one pull returns it all."""
    with sim.coalesce():
        for person in PEOPLE:
            act(person)


def _check_acks(rt: Runtime, sim: WeComSimulator, directory: Directory) -> dict[str, int]:
    """Each constituent: one case at the scanned station and exactly one acknowledgement
    naming it, never the station menu. Returns case ids by constituent."""
    cases: dict[str, int] = {}
    with rt.sessions() as s:
        for person in PEOPLE:
            owner = s.scalars(select(Constituent).where(Constituent.external_id == person)).one()
            [case] = s.scalars(select(Case).where(Case.constituent_id == owner.id)).all()
            assert case.station_id == directory.station_id, person
            cases[person] = case.id
    for person in PEOPLE:
        seen = [m.get("text", {}).get("content", "") for m in sim.seen_by(person)]
        acks = [t for t in seen if ACK in t]
        assert len(acks) == 1 and STATION in acks[0], (person, seen)
        assert not any(CHOOSE in t for t in seen), (person, seen)
    return cases


def _scan_and_type(
    rt: Runtime, sim: WeComSimulator, workers: Workers, kill: random.Random | None
) -> None:
    """Everyone opened the chat once before without a code (known, no station); now each
    scans the station's code and types at once."""
    _burst(sim, lambda person: sim.user_enter(person))
    _settle(rt, workers, len(PEOPLE), kill=None)

    def act(person: str) -> None:
        sim.user_enter(person, STATION_SCENE)
        sim.user_text(person, f"{person} 门口路灯坏了")

    _burst(sim, act)
    _settle(rt, workers, 3 * len(PEOPLE), kill=kill)


@pytest.mark.slow
def test_scan_and_text_in_one_pull_for_30_people_and_3_workers(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory, tmp_path: Path
) -> None:
    workers = Workers(rt.settings, tmp_path / "workers.log")
    workers.start(3)
    try:
        _scan_and_type(rt, sim, workers, kill=None)
    finally:
        workers.stop()
    _check_acks(rt, sim, directory)


@pytest.mark.slow
def test_follow_ups_in_order_exactly_once_under_random_worker_kills(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory, tmp_path: Path
) -> None:
    rt.settings.queue.lease_seconds = 3.0  # a killed worker's rows come back quickly
    rt.settings.queue.sweep_seconds = 1
    rng = random.Random(20261201)
    workers = Workers(rt.settings, tmp_path / "workers.log")
    workers.start(3)
    try:
        _scan_and_type(rt, sim, workers, kill=rng)
        _burst(sim, lambda person: sim.user_text(person, "补充一：晚上七点以后全黑"))
        _burst(sim, lambda person: sim.user_text(person, "补充二：已经一个月了"))
        _settle(rt, workers, 5 * len(PEOPLE), kill=rng)
    finally:
        workers.stop()
    drain(rt)
    cases = _check_acks(rt, sim, directory)
    with rt.sessions() as s:
        for person, case_id in cases.items():
            follow_ups = s.scalars(
                select(Message.text)
                .join(CaseEvent, CaseEvent.payload["message_id"].as_integer() == Message.id)
                .where(CaseEvent.case_id == case_id, CaseEvent.kind == "follow_up")
                .order_by(CaseEvent.id)
            ).all()
            # each effect exactly once, and in the order the constituent wrote
            assert [t[:3] for t in follow_ups] == ["补充一", "补充二"], (person, follow_ups)
