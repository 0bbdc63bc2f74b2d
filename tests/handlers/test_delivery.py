"""An answer's delivery outcome reaches the case log, the card and (when it matters) the deputy."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import texts
from handlers.cards import case_card
from handlers.delivery import Outcome, error_code, on_outbox_outcome
from handlers.texts import cosign as ctexts
from tests.handlers.world import World, texts_to, to_constituent


@pytest.fixture()
def answered(world: World) -> int:
    """Case at 城南联络站: 张伟 claimed and answered it (the answer is being sent)."""
    world.enter("s1")
    world.say("小区门口路灯坏了一个月了")
    n = world.last_case_id()
    world.click("u-zhang", "claim", n)
    out = world.text("u-zhang", f"#{n} 回复 已联系城管")
    answer, _menu = to_constituent(out)
    assert answer.payload["answer_seq"] == 1  # the answer row is tracked, the menu is not
    assert "answer_seq" not in _menu.payload or _menu.payload["answer_seq"] is None
    assert texts_to(out, "u-zhang") == [texts.reply_sending(n)]
    assert "已发送" not in texts.reply_sending(n)  # never claims delivery up front
    return n


def _report(world: World, n: int, status: str, error: str | None = None) -> list[Any]:
    def run(session: Any, ctx: Any) -> None:
        on_outbox_outcome(session, Outcome(n, 1, status, error), ctx)

    world.run(run)
    return world.new_outbox()


def _delivery_field(world: World, n: int) -> str:
    with world.sessions() as session:
        fields = dict(case_card(session, n).fields)
    return fields[texts.CARD_FIELD_LABELS["delivery"]]


def test_the_card_says_sending_until_the_outcome_is_known(world: World, answered: int) -> None:
    assert _delivery_field(world, answered) == "答复发送中"


def test_sent_straight_away_updates_the_card_and_tells_nobody(world: World, answered: int) -> None:
    out = _report(world, answered, "sent")
    assert texts_to(out, "u-zhang") == []
    assert any(s.kind == "card_refresh" for s in out)
    assert _delivery_field(world, answered) == "答复已送达"


def test_held_then_delivered_tells_the_deputy_twice_in_all(world: World, answered: int) -> None:
    n = answered
    out = _report(world, n, "held", "window closed: [95002] kf: 48 hours passed")
    [held] = texts_to(out, "u-zhang")
    assert held == texts.answer_held(n, closed=True, staff_told=True)
    assert "暂未送达" in held and "48 小时" in held and "工作人员" in held
    assert _delivery_field(world, n).startswith("答复待送达")
    # held again by a recheck: the deputy already knows
    assert texts_to(_report(world, n, "held", "window closed: again"), "u-zhang") == []
    out = _report(world, n, "sent")
    assert texts_to(out, "u-zhang") == [texts.answer_delivered(n)]
    assert _delivery_field(world, n) == "答复已送达"
    assert texts_to(_report(world, n, "sent"), "u-zhang") == []  # exactly once
    states = [e.payload["state"] for e in world.events(n) if e.kind == "answer_delivery"]
    assert states == ["held", "sent"]


def test_a_budget_hold_says_why(world: World, answered: int) -> None:
    out = _report(world, answered, "held", "budget full: 5 of 5 kf messages used")
    [held] = texts_to(out, "u-zhang")
    assert "条数已用完" in held


def test_a_failure_gives_code_and_meaning(world: World, answered: int) -> None:
    n = answered
    error = "[95018] kf: session state does not allow sending (kf/send_msg: busy)"
    out = _report(world, n, "failed", error)
    [failed] = texts_to(out, "u-zhang")
    assert failed == texts.answer_failed(n, "95018", texts.send_error_meaning("95018"))
    assert "95018" in failed and "人工客服" in failed
    assert _delivery_field(world, n) == "答复未送达（错误 95018）"
    [event] = [e for e in world.events(n) if e.kind == "answer_delivery"]
    assert event.payload["code"] == "95018" and event.payload["error"] == error


def test_error_codes_are_read_from_stored_errors() -> None:
    assert error_code("[40035] invalid parameter") == "40035"
    assert error_code("timed out") == ""
    assert error_code(None) == ""


def test_wecom_reporting_msg_send_fail_for_the_answer_reaches_the_deputy(
    world: World, answered: int
) -> None:
    from handlers.events import DeliveryFailed

    n = answered
    _report(world, n, "sent")
    with world.sessions() as session:
        from sqlalchemy import select

        from storage.models import OutboxItem

        answer_id = session.scalars(
            select(OutboxItem.id).where(OutboxItem.purpose == "answer", OutboxItem.case_id == n)
        ).one()
    out = world.send(
        DeliveryFailed(
            channel="wecom_kf",
            external_id="wm-alice",
            platform_id="fail-answer",
            failed_msgid=f"lx{answer_id}",
            fail_type=3,
        )
    )
    [told] = texts_to(out, "u-zhang")
    assert told == texts.answer_failed(
        n, "msg_send_fail", texts.send_error_meaning("msg_send_fail")
    )
    assert _delivery_field(world, n) == "答复未送达（错误 msg_send_fail）"


def test_cosigners_copies_are_counted_and_a_held_copy_is_reported_once_delivered(
    world: World,
) -> None:
    from tests.handlers.test_cosign import _two_reports

    first, second = _two_reports(world)
    world.click("u-zhang", "cosign", second)
    world.text("u-zhang", f"#{first} 接单")
    out = world.text("u-zhang", f"#{first} 回复 已安排维修，本周内修好")
    answers = {s.case_id: s for s in to_constituent(out) if s.purpose == "answer"}
    assert answers[second].payload["answer_of"] == first  # the copy is tracked
    assert answers[second].payload["answer_seq"] == 1
    assert answers[first].payload["answer_of"] is None

    def report(case_id: int, status: str, error: str | None = None, main: int | None = None):
        def run(session: Any, ctx: Any) -> None:
            on_outbox_outcome(session, Outcome(case_id, 1, status, error, main), ctx)

        world.run(run)
        return texts_to(world.new_outbox(), "u-zhang")

    assert report(first, "sent") == []  # straight out: only the card knows
    assert _delivery_field(world, first) == "答复已送达 2 位群众中的 1 位；1 位发送中"
    held = report(second, "held", "window closed: [95002] kf: 48 hours passed", first)
    summary = f"答复已送达 2 位群众中的 1 位；1 位暂缓（#{second}，待其再次来信后自动补发）"
    assert held == [ctexts.copy_held(first, second, closed=True, report=summary)]
    assert "附议群众" in held[0] and "48 小时" in held[0]
    assert _delivery_field(world, first) == summary
    assert report(second, "held", "window closed: again", first) == []  # already told
    assert report(second, "sent", None, first) == [
        ctexts.copy_delivered(first, second, "答复已送达 2 位群众中的 2 位")
    ]
    assert report(second, "sent", None, first) == []  # exactly once
    assert _delivery_field(world, first) == "答复已送达 2 位群众中的 2 位"
    # logged on the co-signer's own case, and not mistaken for an answer of that case
    states = [
        (e.payload["state"], e.payload["answer_of"])
        for e in world.events(second)
        if e.kind == "answer_delivery"
    ]
    assert states == [("held", first), ("sent", first)]
    assert [e.kind for e in world.events(first)].count("answer_delivery") == 1


def test_a_held_main_answer_reports_the_cosigners_too(world: World) -> None:
    from tests.handlers.test_cosign import _two_reports

    first, second = _two_reports(world)
    world.click("u-zhang", "cosign", second)
    world.text("u-zhang", f"#{first} 接单")
    world.text("u-zhang", f"#{first} 回复 已安排维修")

    def run(session: Any, ctx: Any) -> None:
        on_outbox_outcome(session, Outcome(second, 1, "sent", None, first), ctx)
        on_outbox_outcome(session, Outcome(first, 1, "failed", "[95018] servicing"), ctx)

    world.run(run)
    [told] = texts_to(world.new_outbox(), "u-zhang")
    assert told.startswith(f"#{first} 的答复未能送达群众（错误 95018")
    assert told.endswith(f"目前答复已送达 2 位群众中的 1 位；1 位未送达（#{first}）。")


def test_delivery_summary_wording() -> None:
    assert ctexts.delivery_summary(3, 2, [15], []) == (
        "答复已送达 3 位群众中的 2 位；1 位暂缓（#15，待其再次来信后自动补发）"
    )
    assert ctexts.delivery_summary(4, 1, [], [16]) == (
        "答复已送达 4 位群众中的 1 位；1 位未送达（#16）；2 位发送中"
    )
    held = ctexts.copy_held(12, 15, closed=False, report="答复已送达 2 位群众中的 1 位")
    assert "条数已用完" in held and held.endswith("目前答复已送达 2 位群众中的 1 位。")
    failed = ctexts.copy_failed(12, 15, "95018", "会话已由人工客服接待", "…")
    assert "错误 95018" in failed and "请电话联系" in failed
