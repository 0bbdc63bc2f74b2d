"""Masking at intake: a new case's text is masked by a worker after its acknowledgement."""

from __future__ import annotations

from rq import SimpleWorker
from sqlalchemy import select

from bot import queue as q
from bot.pipeline import wake
from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from handlers.privacy import mask_text
from storage.models import Case, CaseMask
from tests.bot.wecom.conftest import STATION_SCENE, Directory
from tests.support import drain

ALICE = "wmAliceExternal0001"
TEXT = "我叫王小明，电话13912345678，小区门口路灯坏了"


def _ack_path_only(rt: Runtime) -> None:
    """Run inbound and outbound jobs until none waits; periodic jobs stay queued."""
    queues = [rt.queue(q.INBOUND_QUEUE), rt.queue(q.OUTBOUND_QUEUE)]
    wake.flush_all()
    for _ in range(20):
        if not any(qu.count for qu in queues):
            return
        SimpleWorker(queues, connection=rt.redis).work(burst=True)


def test_new_case_text_is_masked_and_stored_after_the_ack(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    sim.user_enter(ALICE, STATION_SCENE)
    sim.user_text(ALICE, TEXT)
    _ack_path_only(rt)
    with rt.sessions() as session:
        [case] = session.scalars(select(Case))
        assert session.scalars(select(CaseMask)).all() == []  # not masked on the ack path
    seen = [m.get("text", {}).get("content", "") for m in sim.seen_by(ALICE)]
    assert any(f"#{case.id}" in text for text in seen), seen  # the ack went out already
    assert rt.queue(q.PERIODIC_QUEUE).count == 1  # the masking job, behind every ack
    drain(rt)
    with rt.sessions() as session:
        stored = session.get(CaseMask, case.id)
        assert stored is not None and stored.masked == mask_text(TEXT)
        assert "13912345678" not in stored.masked
