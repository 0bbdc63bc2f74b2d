"""A burst of a constituent's 补充 reaches the deputy as one DingTalk message."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from sqlalchemy import select

from bot.dingtalk.jobs import api_client
from bot.dingtalk.send import BATCH_SEND
from bot.pipeline.context import dispatch_event
from bot.pipeline.outbox_jobs import enqueue_send, send_one
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from handlers.events import ConstituentMessage
from storage.models import OutboxItem
from storage.outbox import take_new_outbox_ids
from tests.bot.dingtalk.conftest import Directory, open_case
from tests.support import drain


def _supplement(rt: Runtime, text: str) -> list[int]:
    with rt.sessions.begin() as s:
        dispatch_event(
            rt,
            s,
            ConstituentMessage(
                channel="wecom_kf",
                external_id="wm-voter-3a9f",
                platform_id=f"kfmsg-sup-{time.monotonic_ns()}",
                kind="text",
                sent_at=rt.now(s),
                open_kfid="kf1",
                text=text,
            ),
        )
        return take_new_outbox_ids(s)


def _supplement_notices(sim: DingTalkSimulator) -> list[str]:
    params = [json.loads(b["msgParam"]) for _, p, b in sim.calls if p == BATCH_SEND]
    return [str(m.get("content")) for m in params if "群众补充" in str(m.get("content"))]


def test_supplements_waiting_behind_one_go_out_as_one_message(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory
) -> None:
    case_id = open_case(rt)
    drain(rt)
    # three lines typed at once, all recorded before the first notice is sent
    ids = [
        i
        for text in ("晚上七点以后全黑", "已经一个月了", "老人走路摔过一次")
        for i in _supplement(rt, text)
    ]
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    drain(rt)
    [notice] = _supplement_notices(sim)
    assert notice.count(f"群众补充（#{case_id}）") == 3
    assert notice.index("晚上七点") < notice.index("一个月") < notice.index("摔过")
    with rt.sessions() as s:
        statuses = sorted(
            s.scalars(
                select(OutboxItem.status).where(
                    OutboxItem.ordering_key == f"merge:supplement:{case_id}:u-zhang"
                )
            )
        )
    assert statuses == ["merged", "merged", "sent"]

    # one typed later, after that notice was sent, is its own message
    for outbox_id in _supplement(rt, "今天又有人摔了"):
        enqueue_send(rt, outbox_id)
    drain(rt)
    assert len(_supplement_notices(sim)) == 2 and "今天又有人摔了" in _supplement_notices(sim)[1]


def test_supplements_that_arrive_while_one_waits_for_its_slot_go_with_it(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory
) -> None:
    case_id = open_case(rt)
    drain(rt)
    # DingTalk's allowance is used up for a while (as in a burst): the next notice waits
    api_client(rt).limiter.pause(BATCH_SEND, 1.5)
    [first] = [i for i in _supplement(rt, "晚上七点以后全黑") if _kind(rt, i) == "oto"]
    sender = threading.Thread(target=send_one, args=(rt, first))
    sender.start()
    _wait_for(lambda: _status(rt, first) == "sending")  # leased, waiting for its slot
    later = [i for t in ("已经一个月了", "老人摔过一次") for i in _supplement(rt, t)]
    sender.join(timeout=10)
    for outbox_id in later:
        enqueue_send(rt, outbox_id)
    drain(rt)
    [notice] = _supplement_notices(sim)
    assert notice.count(f"群众补充（#{case_id}）") == 3 and notice.index("七点") < notice.index(
        "摔过"
    )
    assert _status(rt, first) == "sent"


def _kind(rt: Runtime, outbox_id: int) -> str:
    with rt.sessions() as s:
        return str(s.scalar(select(OutboxItem.kind).where(OutboxItem.id == outbox_id)))


def _status(rt: Runtime, outbox_id: int) -> str:
    with rt.sessions() as s:
        return str(s.scalar(select(OutboxItem.status).where(OutboxItem.id == outbox_id)))


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
