"""Ratings under random worker kills (issue 9): 30 constituents rate at once while real worker
processes are SIGKILLed; every rating counts exactly once and in the order it was given."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.config import DingtalkSettings, Settings
from bot.pipeline.context import handler_context
from bot.pipeline.outbox_jobs import enqueue_sends
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from bot.simulators.wecom import WeComSimulator
from handlers.dispatch import handle
from handlers.events import StaffText
from handlers.lifecycle import Action, Status
from storage.models import Case, CaseEvent, InboxItem, OutboxItem, Rating
from storage.outbox import take_new_outbox_ids
from tests.bot.wecom.conftest import Directory
from tests.bot.wecom.test_kf_order import PEOPLE, _burst, _check_acks, _scan_and_type
from tests.bot.wecom.test_kf_order import _settle as _settle_kf
from tests.support import Workers, drain

DEPUTY = "u-zhang"  # the deputy on duty at the seeded station
REASON = "原因：路灯还是不亮"


@pytest.fixture()
def dingtalk() -> Iterator[DingTalkSimulator]:
    """A DingTalk simulator for the deputy's cards and notices (a closed port would leave
    hundreds of failing sends retrying in the workers' queue ahead of the constituents')."""
    with DingTalkSimulator(client_id="ding-rating", client_secret="x", tick_interval=3600) as d:
        for user in (DEPUTY, "u-li"):
            d.add_user(user, user)
        yield d


@pytest.fixture()
def settings(settings: Settings, dingtalk: DingTalkSimulator) -> Settings:
    """The WeCom test settings with [dingtalk] pointing at the simulator."""
    ding = DingtalkSettings(
        client_id="ding-rating", client_secret=SecretStr("x"), openapi_endpoint=dingtalk.endpoint
    )
    return settings.model_copy(update={"dingtalk": ding})


def _deputy(rt: Runtime, commands: list[str]) -> None:
    """The deputy types `commands` to the bot (handled here, sent by the workers)."""
    with rt.sessions.begin() as s:
        ctx = handler_context(rt, s)
        for text in commands:
            event = StaffText(
                platform="dingtalk",
                user_id=DEPUTY,
                platform_id=f"dt-{uuid.uuid4().hex}",
                text=text,
                sent_at=ctx.now,
            )
            handle(s, event, ctx)
        ids = take_new_outbox_ids(s)
    enqueue_sends(rt, ids)


def _answer(rt: Runtime, cases: dict[str, int], text: str, *, claim: bool) -> None:
    for case_id in cases.values():
        claimed = [f"接单 #{case_id}"] if claim else []
        _deputy(rt, [*claimed, f"回复 #{case_id} {text}"])
    with rt.sessions() as s:
        statuses = set(s.scalars(select(Case.status).where(Case.id.in_(cases.values()))))
    assert statuses == {Status.REPLIED.value}, statuses


def _rate(sim: WeComSimulator, cases: dict[str, int], seq: int, value: str, reason: bool) -> None:
    """Everyone taps a rating of answer `seq` (and types a reason right after) in one pull."""

    def act(person: str) -> None:
        sim.user_click_menu(person, _menu(cases[person], seq, value))
        if reason:
            sim.user_text(person, REASON)

    _burst(sim, act)


def _settle(rt: Runtime, workers: Workers, kf_rows: int, kill: random.Random | None) -> None:
    """test_kf_order's settle; when it times out, say which rows are stuck."""
    try:
        _settle_kf(rt, workers, kf_rows, kill)
    except AssertionError:
        with rt.sessions() as s:
            inbox = s.execute(
                select(InboxItem.id, InboxItem.conversation, InboxItem.attempts,
                       InboxItem.lease_until, InboxItem.last_error)
                .where(InboxItem.status == "pending")
            ).all()  # fmt: skip
            outbox = s.execute(
                select(OutboxItem.id, OutboxItem.status, OutboxItem.ordering_key,
                       OutboxItem.attempts, OutboxItem.lease_until, OutboxItem.last_error)
                .where(OutboxItem.channel == "wecom_kf",
                       OutboxItem.status.in_(("pending", "sending")))
            ).all()  # fmt: skip
        raise AssertionError(f"stuck inbox {inbox}; stuck kf outbox {outbox}") from None


def _menu(case_id: int, seq: int, value: str) -> str:
    """The id of a rating menu item as handlers.rating.menu_id builds it (the click must match
    the menu the simulator showed the constituent, or it raises)."""
    code = {"satisfied": "ok", "unsatisfied": "bad"}[value]
    return f"rate:{case_id}:{seq}:{code}"


@pytest.mark.slow
@pytest.mark.timeout(900)  # four rounds through real workers, two of them with kills
def test_ratings_count_once_in_order_under_random_worker_kills(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory, tmp_path: Path
) -> None:
    rt.settings.queue.lease_seconds = 3.0  # a killed worker's rows come back quickly
    rt.settings.queue.sweep_seconds = 1
    rng = random.Random(20261202)
    workers = Workers(rt.settings, tmp_path / "workers.log")
    workers.start(3)
    try:
        _scan_and_type(rt, sim, workers, kill=None)
        cases = _check_acks(rt, sim, directory)
        rows = 3 * len(PEOPLE)
        _answer(rt, cases, "路灯已修好", claim=True)
        _settle(rt, workers, rows, kill=None)
        # 不满意 + reason in one pull: the reason counts only if the tap was handled first
        _rate(sim, cases, 1, "unsatisfied", reason=True)
        rows += 2 * len(PEOPLE)
        _settle(rt, workers, rows, kill=rng)
        _answer(rt, cases, "已更换灯泡，请再看看", claim=False)
        _settle(rt, workers, rows, kill=None)
        _rate(sim, cases, 2, "satisfied", reason=False)
        rows += len(PEOPLE)
        _settle(rt, workers, rows, kill=rng)
    finally:
        workers.stop()
    drain(rt)
    with rt.sessions() as s:
        for person, case_id in cases.items():
            ratings = s.execute(
                select(Rating.answer_seq, Rating.value, Rating.reason)
                .where(Rating.case_id == case_id)
                .order_by(Rating.id)
            ).all()
            assert [tuple(r) for r in ratings] == [
                (1, "unsatisfied", REASON),
                (2, "satisfied", None),
            ], (person, ratings)
            case = s.get(Case, case_id)
            assert case is not None and case.status == Status.CLOSED.value, person
            assert (case.rework_count, case.rating) == (1, "satisfied"), person
            actions = s.scalars(
                select(CaseEvent.action)
                .where(
                    CaseEvent.case_id == case_id,
                    CaseEvent.action.in_((Action.RATE_BAD.value, Action.RATE_OK.value)),
                )
                .order_by(CaseEvent.id)
            ).all()
            assert actions == [Action.RATE_BAD.value, Action.RATE_OK.value], (person, actions)
            reasons = s.scalar(
                select(func.count(CaseEvent.id)).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == "rating_reason"
                )
            )
            assert reasons == 1, person
    for person in cases:
        seen = [m.get("text", {}).get("content", "") for m in sim.seen_by(person)]
        # each rating answered once: the question after 不满意, the reopen notice, the thanks
        assert sum("哪里还不满意" in t for t in seen) == 1, (person, seen)
        assert sum("重新办理（" in t for t in seen) == 1, (person, seen)
        assert sum("给出「满意」的评价" in t for t in seen) == 1, (person, seen)
        assert not any("已评价过" in t for t in seen), (person, seen)
