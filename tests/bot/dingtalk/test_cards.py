"""Case cards end to end: template cards (post, click answered in 2 s, final state = the case)
and the markdown fallback with dtmd command links; the shipped template matches the code."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select, update

from bot.dingtalk import cards
from bot.dingtalk.card_send import CARD_CREATE_DELIVER, CARD_UPDATE
from bot.dingtalk.events import CARD_SOURCE
from bot.pipeline.outbox_jobs import enqueue_send
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from handlers import texts
from handlers.cards import case_card
from storage.models import CardRef, Case, OutboxItem
from tests.bot.dingtalk.conftest import (
    GROUP,
    Directory,
    StartStream,
    inbox,
    inbox_locked,
    open_case,
    wait_until,
)
from tests.support import drain

TEMPLATE = "lianxin-case-card.schema"


def markdown(view: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Robot markdown messages (cards in the fallback mode) of a timeline."""
    return [e for e in robot(view) if e.get("msgtype") in ("sampleMarkdown", "markdown")]


def card_refs(rt: Runtime, case_id: int) -> list[CardRef]:
    with rt.sessions() as s:
        return list(
            s.scalars(select(CardRef).where(CardRef.case_id == case_id).order_by(CardRef.id))
        )


def expected_params(rt: Runtime, case_id: int) -> dict[str, str]:
    with rt.sessions() as s:
        return cards.card_params(case_card(s, case_id, rt.now(s)))


def case_status(rt: Runtime, case_id: int) -> str:
    with rt.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return case.status


def robot(view: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in view if e["sender"] == "robot"]


def test_template_declares_exactly_the_variables_and_buttons_the_code_uses(
    rt: Runtime, directory: Directory
) -> None:
    spec = cards.template_spec()
    declared = {v["name"] for v in spec["variables"] if not v.get("private")}
    case_id = open_case(rt)
    assert declared == set(expected_params(rt, case_id))
    assert {b["id"] for b in spec["buttons"]} == set(cards.ACTIONS)
    for button in spec["buttons"]:
        assert button["params"]["action"] == button["id"]
        assert button["params"]["case_id"] == "${case_id}"
    assert set(cards.busy_response()["cardData"]["cardParamMap"]) <= declared


def test_template_card_is_posted_to_the_group_and_the_assignee(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory
) -> None:
    rt.settings.dingtalk.card_template_id = TEMPLATE
    case_id = open_case(rt)
    drain(rt)
    # one card instance in both spaces, delivered in one call (half the calls under 20 QPS)
    [ref] = card_refs(rt, case_id)
    assert ref.space == f"group:{GROUP};user:u-zhang"
    [create] = [b for _, p, b in sim.calls if p == CARD_CREATE_DELIVER]
    assert create["openSpaceId"] == f"dtv1.card//IM_GROUP.{GROUP};IM_ROBOT.u-zhang"
    [group_card] = [e for e in sim.group_view(GROUP) if e["kind"] == "card"]
    assert group_card["outTrackId"] == ref.out_track_id and group_card["at_user_ids"] == ["u-zhang"]
    [own_card] = [e for e in sim.private_view("u-zhang") if e["kind"] == "card"]
    assert own_card["outTrackId"] == ref.out_track_id
    card = sim.card(ref.out_track_id)
    assert card["cardTemplateId"] == TEMPLATE and card["callbackType"] == "STREAM"
    assert card["cardParamMap"] == expected_params(rt, case_id)
    assert (
        card["cardParamMap"]["btn_claim"] == "true" and card["cardParamMap"]["status"] == "assigned"
    )
    assert sim.state()["stats"]["card_param_non_string"] == 0


def test_a_resent_card_post_is_recognised_and_not_posted_twice(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory
) -> None:
    rt.settings.dingtalk.card_template_id = TEMPLATE
    case_id = open_case(rt)
    drain(rt)
    with rt.sessions() as s:
        post = s.scalars(
            select(OutboxItem).where(OutboxItem.kind == "card_post").order_by(OutboxItem.id)
        ).first()
    assert post is not None and post.status == "sent"
    # a worker that died after DingTalk created the card but before anything was recorded:
    # the row is due again and nothing of the first attempt was remembered
    for key in rt.redis.scan_iter(
        match=f"{rt.settings.redis.queue_prefix}:dingtalk:done:{post.id}:*"
    ):
        rt.redis.delete(key)
    with rt.sessions.begin() as s:
        s.execute(update(OutboxItem).where(OutboxItem.id == post.id).values(status="pending"))
    enqueue_send(rt, post.id)
    drain(rt)
    with rt.sessions() as s:
        again = s.get(OutboxItem, post.id)
        assert again is not None and again.status == "sent"
        assert (again.result or {})["duplicate"] is True
    assert len([c for c in sim.group_view(GROUP) if c["kind"] == "card"]) == 1
    assert (
        len([b for _, p, b in sim.calls if p == CARD_CREATE_DELIVER]) == 2
    )  # the card + the resend
    assert len(card_refs(rt, case_id)) == 1


def test_click_is_answered_within_2s_and_the_card_ends_showing_the_case(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, start_stream: StartStream
) -> None:
    rt.settings.dingtalk.card_template_id = TEMPLATE
    case_id = open_case(rt)
    drain(rt)
    start_stream()
    [group_ref] = card_refs(rt, case_id)  # one instance, in the group and the 1:1 chat
    started = time.monotonic()
    response = sim.user_clicks(
        "u-zhang", group_ref.out_track_id, {"action": "claim", "case_id": str(case_id)}
    )
    assert time.monotonic() - started < 2.0
    assert response == cards.busy_response()
    shown = sim.card(group_ref.out_track_id)["cardParamMap"]
    assert shown["busy"] == "处理中…" and shown["btn_claim"] == "false"
    assert sim.state()["stats"]["card_callback_timeouts"] == 0

    drain(rt)  # the click's job: claim, then the refresh of the card (both spaces)
    assert case_status(rt, case_id) == "accepted"
    final = expected_params(rt, case_id)
    assert final["busy"] == "" and final["status"] == "accepted" and "张" in final["holder_line"]
    assert final["btn_reply"] == "true" and final["btn_claim"] == "false"
    assert sim.card(group_ref.out_track_id)["cardParamMap"] == final
    # 处理中… came back in the callback's answer; one PUT brings both spaces up to date
    assert len([b for _, p, b in sim.calls if p == CARD_UPDATE]) == 1

    # 李娜 presses the stale 接单: refused politely, and the card comes back from 「处理中…」
    sim.user_clicks("u-li", group_ref.out_track_id, {"action": "claim", "case_id": str(case_id)})
    assert sim.card(group_ref.out_track_id)["cardParamMap"]["busy"] == "处理中…"
    drain(rt)
    assert case_status(rt, case_id) == "accepted"
    assert sim.card(group_ref.out_track_id)["cardParamMap"] == final
    [refusal] = robot(sim.private_view("u-li"))
    assert "#" in refusal["text"]


def test_text_commands_in_group_and_1to1_reach_the_handlers_once(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, start_stream: StartStream
) -> None:
    case_id = open_case(rt)
    drain(rt)
    stream = start_stream()
    sim.user_sends_group_text("u-zhang", GROUP, f"#{case_id} 接单")
    sim.user_sends_private_text("u-zhang", "待办")
    wait_until(lambda: sim.pending_unacked() == 0 and stream.client.connects == 1)
    sim.disconnect_all()  # a reconnect in the middle changes nothing
    wait_until(lambda: stream.client.connects == 2)
    drain(rt)
    assert case_status(rt, case_id) == "accepted"
    group_replies = [e for e in robot(sim.group_view(GROUP)) if e["via"] == "sessionWebhook"]
    assert len(group_replies) == 1 and group_replies[0]["at_user_ids"] == ["u-zhang"]
    private = [e for e in robot(sim.private_view("u-zhang")) if e["via"] == "sessionWebhook"]
    assert len(private) == 1 and f"#{case_id}" in private[0]["text"]  # the 待办 list


def test_markdown_cards_carry_command_links_and_refresh_as_follow_ups(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory
) -> None:
    case_id = open_case(rt)
    drain(rt)
    refs = card_refs(rt, case_id)
    assert [cards.is_markdown_ref(r.out_track_id) for r in refs] == [True, True]
    [group_card] = markdown(sim.group_view(GROUP))
    text = group_card["body"]["text"]
    claim = quote(f"#{case_id} 接单", safe="")
    assert f"[接单](dtmd://dingtalkclient/sendMessage?content={claim})" in text
    assert "@张伟" in text and "**联络站**：城南联络站" in text
    [own_card] = markdown(sim.private_view("u-zhang"))
    assert "dtmd://dingtalkclient/sendMessage" in own_card["body"]["text"]

    # the deputy taps 接单: his client sends the command text, which arrives as a bot message
    with rt.sessions.begin() as s:
        from bot.pipeline.context import dispatch_event
        from handlers.events import StaffText

        dispatch_event(
            rt,
            s,
            StaffText(
                "dingtalk", "u-zhang", "tap-1", f"#{case_id} 接单", rt.now(s), GROUP, "group"
            ),
        )
        from storage.outbox import take_new_outbox_ids

        ids = take_new_outbox_ids(s)
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    drain(rt)
    assert case_status(rt, case_id) == "accepted"
    follow_ups = [e for e in markdown(sim.group_view(GROUP)) if "办理中" in e["body"]["text"]]
    assert len(follow_ups) == 1
    assert quote(f"#{case_id} 回复", safe="") in follow_ups[0]["body"]["text"]
    assert any("办理中" in e["body"]["text"] for e in markdown(sim.private_view("u-zhang")))


def test_click_during_a_slow_database_is_answered_in_time_and_handled_later(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, start_stream: StartStream
) -> None:
    rt.settings.dingtalk.card_template_id = TEMPLATE
    case_id = open_case(rt)
    drain(rt)
    start_stream()
    [group_ref] = card_refs(rt, case_id)
    with inbox_locked(rt):
        started = time.monotonic()
        response = sim.user_clicks(
            "u-zhang", group_ref.out_track_id, {"action": "claim", "case_id": str(case_id)}
        )
        assert time.monotonic() - started < 2.0 and response is None  # acked, card unchanged
    assert sim.state()["stats"]["card_callback_timeouts"] == 0
    wait_until(lambda: len(inbox(rt, CARD_SOURCE)) == 1, what="recorded once the lock is gone")

    def handled() -> bool:  # the stream thread enqueues just after its insert commits
        drain(rt)
        return case_status(rt, case_id) == "accepted"

    wait_until(handled, what="the click handled by a worker")
    assert sim.card(group_ref.out_track_id)["cardParamMap"] == expected_params(rt, case_id)


def test_cards_link_to_the_case_page_in_the_workbench() -> None:
    from handlers.cards import CaseCardView

    view = CaseCardView(12, "#12 路灯坏了", "assigned", "待接单", (("联络站", "城南"),), "", (), "")
    url = cards.detail_url("https://lx.example.gov.cn/", 12)
    assert url == "https://lx.example.gov.cn/workbench/cases/12"
    _title, text = cards.card_markdown(view, url=url)
    assert f"[{texts.CARD_DETAIL_LINK}]({url})" in text
    assert cards.card_params(view, url=url)["detail_url"] == url
    assert cards.detail_url("", 12) == ""  # no public URL configured: no link, no guess
    assert texts.CARD_DETAIL_LINK not in cards.card_markdown(view)[1]


def _category(rt: Runtime, case_id: int) -> tuple[str | None, str | None]:
    with rt.sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None
        return case.category, case.category_source


def test_template_card_correct_category_lists_the_categories_and_corrects_by_link(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, start_stream: StartStream
) -> None:
    from handlers.insight.category import categories
    from handlers.insight.corrections import corrections

    rt.settings.dingtalk.card_template_id = TEMPLATE
    case_id = open_case(rt, "医院门口天天乱停车，救护车都进不去")
    drain(rt)
    start_stream()
    assert _category(rt, case_id)[0] == "停车"
    [group_ref] = card_refs(rt, case_id)
    assert sim.card(group_ref.out_track_id)["cardParamMap"]["btn_categorise"] == "true"
    sim.user_clicks(
        "u-zhang", group_ref.out_track_id, {"action": "categorise", "case_id": str(case_id)}
    )
    drain(rt)
    # the answer, 1:1: one dtmd link per category of the deployment, the current one marked
    [choose] = [e for e in markdown(sim.private_view("u-zhang")) if "正确分类" in e["text"]]
    body = choose["body"]["text"]
    for name in categories():
        label = f"{name}（当前）" if name == "停车" else name
        link = quote(f"#{case_id} 分类 {name}", safe="")
        assert f"[{label}](dtmd://dingtalkclient/sendMessage?content={link})" in body
    assert sim.card(group_ref.out_track_id)["cardParamMap"]["busy"] == ""  # back from 处理中

    sim.user_taps_link("u-zhang", "道路交通")  # his client sends `#N 分类 道路交通`
    wait_until(lambda: sim.pending_unacked() == 0)
    drain(rt)
    assert _category(rt, case_id) == ("道路交通", "corrected")
    shown = sim.card(group_ref.out_track_id)["cardParamMap"]
    assert "道路交通（已人工更正）" in shown["fields_md"]
    said = [str(e.get("text", "")) for e in robot(sim.private_view("u-zhang"))]
    assert any("已由「停车」改为「道路交通」" in t for t in said)
    with rt.sessions() as s:
        [row] = corrections(s)
    assert (row["case"], row["was"], row["category"]) == (case_id, "停车", "道路交通")


def test_markdown_card_correct_category_link_answers_in_the_group(
    rt: Runtime, sim: DingTalkSimulator, directory: Directory, start_stream: StartStream
) -> None:
    case_id = open_case(rt, "医院门口天天乱停车，救护车都进不去")
    drain(rt)
    start_stream()
    [group_card] = markdown(sim.group_view(GROUP))
    command = quote(f"#{case_id} 分类", safe="")
    assert (
        f"[更正分类](dtmd://dingtalkclient/sendMessage?content={command})"
        in group_card["body"]["text"]
    )
    sim.user_taps_link("u-li", "更正分类", GROUP)
    wait_until(lambda: sim.pending_unacked() == 0)
    drain(rt)
    # answered where the command came from (the group's sessionWebhook), as markdown links
    [choose] = [e for e in markdown(sim.group_view(GROUP)) if "正确分类" in e["text"]]
    assert choose["via"] == "sessionWebhook" and choose["at_user_ids"] == ["u-li"]
    sim.user_taps_link("u-li", "环境卫生", GROUP)
    wait_until(lambda: sim.pending_unacked() == 0)
    drain(rt)
    assert _category(rt, case_id) == ("环境卫生", "corrected")
    with pytest.raises(LookupError):
        sim.user_taps_link("u-li", "没有这个分类", GROUP)
