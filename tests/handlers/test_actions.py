"""Journey 3: deputy and staff actions from card buttons and text commands; permissions."""

from __future__ import annotations

import pytest

from handlers import texts
from handlers.caselog import replayed_status
from tests.handlers.world import Sent, World, replies, texts_to, to_constituent


@pytest.fixture()
def case_no(world: World) -> int:
    """A case at 城南联络站 assigned to 张伟 (Monday roster, tie-break)."""
    world.enter("s1")
    world.say("小区门口路灯坏了一个月了")
    return world.last_case_id()


def _status(world: World, n: int) -> str:
    return world.case(n).status


def _transitions(world: World, n: int) -> list[str]:
    return [e.action or "" for e in world.events(n) if e.kind == "transition"]


def test_claim_by_card_then_by_someone_else(world: World, case_no: int) -> None:
    n = case_no
    out = world.click("u-zhang", "claim", n)
    assert _status(world, n) == "accepted"
    assert texts_to(out, "u-zhang") == [texts.claim_ok(n)]
    assert any(s.kind == "card_refresh" for s in out)
    out = world.click("u-li", "claim", n)
    assert texts_to(out, "u-li") == [f"#{n} 已由张代表接单，无需重复处理，谢谢。"]
    assert any(s.kind == "card_refresh" for s in out)  # 李娜's card catches up too
    case = world.case(n)
    assert case.assignee_deputy_id == world.ids["zhang"]
    assert _transitions(world, n) == ["route", "claim"]


def test_another_station_deputy_claims_and_gets_the_card(world: World, case_no: int) -> None:
    out = world.text("u-zhao", f"{case_no} 接单")  # `#` is optional
    case = world.case(case_no)
    assert case.assignee_deputy_id == world.ids["zhao"] and case.status == "accepted"
    assert [s.payload["space"] for s in out if s.kind == "card_post"] == ["user:u-zhao"]
    assert [s.text for s in replies(out, "u-zhao")] == [texts.claim_ok(case_no)]
    assert replies(out, "u-zhao")[0].kind == "reply"  # text commands are answered in place
    # a repeated claim by the holder is harmless
    out = world.text("u-zhao", f"#{case_no} 接单")
    assert texts_to(out, "u-zhao") == [texts.claim_ok(case_no)]
    assert _transitions(world, case_no) == ["route", "claim"]


def test_reply_before_claim_is_refused_clearly(world: World, case_no: int) -> None:
    out = world.text("u-zhang", f"#{case_no} 回复 已处理")
    assert texts_to(out, "u-zhang") == [
        f"#{case_no} 尚未接单，请先发送「#{case_no} 接单」，再进行回复。"
    ]
    assert _status(world, case_no) == "assigned"


def test_reply_reaches_the_constituent_with_a_rating_menu(world: World, case_no: int) -> None:
    n = case_no
    world.click("u-zhang", "claim", n)
    out = world.text("u-zhang", f"#{n} 回复 已联系城管，本周内修复")
    answer, menu = to_constituent(out)
    assert (answer.purpose, answer.text) == (
        "answer",
        f"张代表答复（#{n}）：已联系城管，本周内修复",
    )
    assert menu.purpose == "rating"
    assert [(m["id"], m["text"]) for m in menu.payload["menu"]] == [
        (f"rate:{n}:1:ok", "满意"),
        (f"rate:{n}:1:basic", "基本满意"),
        (f"rate:{n}:1:bad", "不满意"),
    ]
    assert texts_to(out, "u-zhang") == [texts.reply_sending(n)]
    case = world.case(n)
    assert (case.status, case.answer, case.answer_seq) == ("replied", "已联系城管，本周内修复", 1)
    assert case.first_answered_at == world.now
    assert case.rating_due_at is not None


def test_card_reply_without_text_gets_a_hint(world: World, case_no: int) -> None:
    world.click("u-zhang", "claim", case_no)
    out = world.click("u-zhang", "reply", case_no)
    assert texts_to(out, "u-zhang") == [texts.hint_missing_arg("reply")]
    out = world.click("u-zhang", "reply", case_no, text="已修好")
    assert _status(world, case_no) == "replied"
    assert to_constituent(out)[0].text.endswith("已修好")


def test_ask_for_detail_and_the_constituents_next_message_returns(
    world: World, case_no: int
) -> None:
    n = case_no
    world.click("u-zhang", "claim", n)
    out = world.click("u-zhang", "ask_info", n, text="请提供具体楼号")
    assert _status(world, n) == "need_info"
    (question,) = to_constituent(out)
    assert question.text.startswith(f"张代表需要您补充（#{n}）：请提供具体楼号")
    assert world.case(n).paused_at == world.now
    world.tick(hours=3)
    out = world.say("3号楼东侧")
    assert _status(world, n) == "accepted"
    assert texts_to(out, "u-zhang") == [f"群众补充（#{n}）：3号楼东侧"]
    case = world.case(n)
    assert case.paused_at is None and case.paused_seconds == 3 * 3600
    assert _transitions(world, n) == ["route", "claim", "ask_info", "info_provided"]


def test_transfer_and_the_department_answers(world: World, case_no: int) -> None:
    n = case_no
    world.click("u-zhang", "claim", n)
    out = world.text("u-zhang", f"#{n} 转办 住建局 请尽快修复")
    assert _status(world, n) == "transferred"
    assert [s.payload["space"] for s in out if s.kind == "card_post"] == ["group:cid-zjj"]
    assert [s.text for s in to_constituent(out)] == [texts.transferred_notice(n, "海州区住建局")]
    assert texts_to(out, "u-zhang") == [texts.transfer_ok(n, "海州区住建局")]
    # someone in the department's group (not a registered deputy) answers
    out = world.text(
        "u-dept-clerk", f"#{n} 回复 已安排维修班组，周三前修复", conversation_id="cid-zjj"
    )
    answer, menu = to_constituent(out)
    assert answer.text == f"海州区住建局答复（#{n}）：已安排维修班组，周三前修复"
    assert answer.purpose == "answer" and menu.purpose == "rating"
    assert any("海州区住建局已答复" in t for t in texts_to(out, "u-zhang"))  # deputy kept informed
    assert texts_to(out, "u-dept-clerk") == [texts.reply_sending(n)]
    assert _transitions(world, n) == ["route", "claim", "transfer", "dept_answer"]
    dept_event = world.events(n)[-1]
    assert dept_event.actor_kind == "dept"


def test_unknown_department_changes_nothing(world: World, case_no: int) -> None:
    world.click("u-zhang", "claim", case_no)
    out = world.text("u-zhang", f"#{case_no} 转办 外星局")
    assert texts_to(out, "u-zhang") == [texts.department_not_found("外星局")]
    assert _status(world, case_no) == "accepted"


def test_department_group_cannot_answer_a_case_not_transferred_to_it(
    world: World, case_no: int
) -> None:
    out = world.text("u-dept-clerk", f"#{case_no} 回复 好的", conversation_id="cid-zjj")
    assert texts_to(out, "u-dept-clerk") == [texts.not_transferred_to_you(case_no, "海州区住建局")]
    assert _status(world, case_no) == "assigned"


def test_reject_with_reason(world: World, case_no: int) -> None:
    out = world.text("u-zhang", f"#{case_no} 不予受理 属于民事纠纷，请通过法院解决")
    assert _status(world, case_no) == "rejected"
    (notice,) = to_constituent(out)
    assert notice.purpose == "answer" and "属于民事纠纷" in notice.text
    assert world.case(case_no).closed_at == world.now


def test_staff_reassign_and_close(world: World, case_no: int) -> None:
    out = world.text("u-zhang", f"#{case_no} 改派 李娜")
    assert texts_to(out, "u-zhang") == [texts.staff_only("reassign")]
    world.click("u-zhang", "claim", case_no)
    out = world.text("u-chen", f"#{case_no} 改派 李娜")
    case = world.case(case_no)
    assert (case.status, case.assignee_deputy_id, case.claimed_at) == (
        "assigned",
        world.ids["li"],
        None,
    )
    assert [s.payload["space"] for s in out if s.kind == "card_post"] == ["user:u-li"]
    assert texts_to(out, "u-chen") == [texts.reassign_ok(case_no, "李代表")]
    out = world.text("u-chen", f"#{case_no} 办结 已电话回访")
    assert _status(world, case_no) == "closed"
    assert "已电话回访" in to_constituent(out)[0].text


def test_who_may_act(world: World, case_no: int) -> None:
    n = case_no
    # a deputy of another station
    out = world.click("u-wang", "claim", n)
    assert texts_to(out, "u-wang") == [texts.not_your_station(n)]
    # staff of another station, and of a township that does not enclose the case
    assert texts_to(world.text("u-zhou", f"#{n} 接单"), "u-zhou") == [texts.not_your_station(n)]
    assert texts_to(world.text("u-wu", f"#{n} 接单"), "u-wu") == [texts.not_your_station(n)]
    # somebody unknown
    assert texts_to(world.text("u-nobody", f"#{n} 接单"), "u-nobody") == [texts.unknown_person()]
    assert _status(world, n) == "assigned"
    # once claimed, another deputy of the station may not answer
    world.click("u-zhang", "claim", n)
    out = world.text("u-li", f"#{n} 回复 我来答")
    assert texts_to(out, "u-li") == [f"#{n} 已由张代表接单，无需重复处理，谢谢。"]
    assert _status(world, n) == "accepted"
    # county office staff (an enclosing region) may act on it
    world.text("u-liu", f"#{n} 回复 区里已协调处理")
    assert _status(world, n) == "replied"
    with world.sessions() as session:
        assert replayed_status(session, n) == "replied"


def test_help_todo_show_and_unknown_commands(world: World, case_no: int) -> None:
    assert texts_to(world.text("u-zhang", "帮助"), "u-zhang") == [texts.help_text(False)]
    assert texts_to(world.text("u-chen", "帮助"), "u-chen") == [texts.help_text(True)]
    todo = texts_to(world.text("u-zhang", "待办"), "u-zhang")[0]
    assert todo.startswith("您有 1 件待办") and f"#{case_no}" in todo
    shown = texts_to(world.text("u-zhang", f"#{case_no}"), "u-zhang")[0]
    assert f"#{case_no} 小区门口路灯坏了一个月了" in shown and "待张代表接单" in shown
    unknown = texts_to(world.text("u-zhang", "今天天气不错"), "u-zhang")[0]
    assert unknown == texts.unknown_command()
    bad = texts_to(world.text("u-zhang", f"#{case_no} 点赞"), "u-zhang")[0]
    assert bad.startswith("抱歉，没有识别「点赞」这个操作。")
    assert texts_to(world.text("u-zhang", "#99999 接单"), "u-zhang") == [
        texts.case_not_found(99999)
    ]


def test_text_replies_carry_the_session_webhook(world: World, case_no: int) -> None:
    out: list[Sent] = world.text("u-zhang", f"#{case_no} 接单", conversation_id="cid-s1")
    (reply,) = [s for s in out if s.kind == "reply"]
    assert reply.payload["webhook"] == "http://127.0.0.1:9/session"
    assert reply.payload["conversation_type"] == "group"
    assert reply.payload["conversation_id"] == "cid-s1"


def test_invalid_transition_on_a_closed_case_is_refused(world: World, case_no: int) -> None:
    world.text("u-zhang", f"#{case_no} 不予受理 重复反映")
    out = world.click("u-zhang", "claim", case_no)
    assert texts_to(out, "u-zhang") == [f"#{case_no} 当前状态为「不予受理」，无法接单。"]
    assert _transitions(world, case_no) == ["route", "reject"]


def test_department_answers_from_its_card(world: World, case_no: int) -> None:
    n = case_no
    world.click("u-zhang", "claim", n)
    world.click("u-zhang", "transfer", n, text="住建局")
    out = world.click(
        "u-dept-clerk", "reply", n, conversation_id="dtv1.card//IM_GROUP.cid-zjj", text="已修复"
    )
    assert [s.text for s in to_constituent(out)][0] == f"海州区住建局答复（#{n}）：已修复"
    assert _status(world, n) == "replied"
