"""Outbound: chunked 1:1 sends, flow control, shared token and rate limit, timeouts, group
messages and replies (sessionWebhook, then the OpenAPI), against the simulator."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import metrics
from bot.dingtalk.api import QPS_APP, QPS_RETRIES, ApiConfig, ApiError, DingTalkApi
from bot.dingtalk.events import staff_text_from
from bot.dingtalk.ratelimit import RateLimited, RateLimiter
from bot.dingtalk.send import BATCH_SEND, GROUP_SEND
from bot.pipeline.outbox_jobs import enqueue_send
from bot.pipeline.sweeper import sweep
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from handlers.notices import Notice, ReplyToStaff, ToDingTalkGroup, ToDingTalkUsers, queue_notice
from storage.models import OutboxItem
from storage.outbox import take_new_outbox_ids
from storage.timeutil import utcnow
from tests.bot.dingtalk.conftest import GROUP, StartStream, inbox, wait_until
from tests.support import drain

TOKEN_PATH = "/v1.0/oauth2/accessToken"


def queue(rt: Runtime, *notices: Notice) -> list[int]:
    """Write notices to the outbox as a handler would, and enqueue them after the commit."""
    with rt.sessions.begin() as s:
        for notice in notices:
            queue_notice(s, notice)
        ids = take_new_outbox_ids(s)
    for outbox_id in ids:
        enqueue_send(rt, outbox_id)
    return ids


def rows(rt: Runtime) -> list[OutboxItem]:
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def robot_messages(sim: DingTalkSimulator, user_id: str) -> list[dict[str, Any]]:
    return [e for e in sim.private_view(user_id) if e["sender"] == "robot"]


def calls(sim: DingTalkSimulator, path: str) -> list[dict[str, Any]]:
    return [body for _, p, body in sim.calls if p == path]


def make_due(rt: Runtime) -> None:
    """Let delayed rows come due now (instead of waiting their real delay), then sweep."""
    with rt.sessions.begin() as s:
        s.execute(
            update(OutboxItem)
            .where(OutboxItem.status == "pending")
            .values(next_attempt_at=utcnow())
        )
    sweep()


def api(rt: Runtime, **changes: Any) -> DingTalkApi:
    cfg = ApiConfig.from_settings(rt.settings.dingtalk, rt.settings.redis.queue_prefix)
    return DingTalkApi(rt.redis, ApiConfig(**{**cfg.__dict__, **changes}), rt=rt)


def test_broadcast_is_split_into_chunks_of_20_and_reaches_everyone_once(
    rt: Runtime, sim: DingTalkSimulator
) -> None:
    users = [f"d{i:03d}" for i in range(45)]
    for u in users:
        sim.add_user(u, f"代表{u}")
    [parent_id] = queue(rt, ToDingTalkUsers(tuple(users), "周五下午三点开会", title="会议通知"))
    drain(rt)
    sends = calls(sim, BATCH_SEND)
    assert sorted(len(b["userIds"]) for b in sends) == [5, 20, 20]
    assert all(b["msgKey"] == "sampleMarkdown" for b in sends)
    for u in users:
        [msg] = robot_messages(sim, u)
        assert msg["body"] == {"title": "会议通知", "text": "周五下午三点开会"}
    parent, *children = rows(rt)
    assert parent.id == parent_id and parent.status == "sent"
    assert (parent.result or {})["split_into"] == 3
    assert [c.status for c in children] == ["sent"] * 3
    drain(rt)  # nothing is left to send twice
    assert len(calls(sim, BATCH_SEND)) == 3


def test_flow_controlled_users_are_retried_later_on_their_own(
    rt: Runtime, sim: DingTalkSimulator
) -> None:
    sim.flow_control("u-li")
    queue(rt, ToDingTalkUsers(("u-zhang", "u-li"), "请查收"))
    drain(rt)
    assert len(robot_messages(sim, "u-zhang")) == 1 and robot_messages(sim, "u-li") == []
    first, retry = rows(rt)
    assert first.status == "sent" and (first.result or {})["flow_controlled"] == ["u-li"]
    assert retry.status == "pending" and retry.payload["user_ids"] == ["u-li"]
    assert retry.next_attempt_at > utcnow() + timedelta(seconds=50)
    make_due(rt)
    drain(rt)
    assert len(robot_messages(sim, "u-zhang")) == 1 and len(robot_messages(sim, "u-li")) == 1
    assert rows(rt)[1].status == "sent"


def test_token_is_shared_between_processes_and_refreshed_once(
    rt: Runtime, sim: DingTalkSimulator
) -> None:
    body = {
        "robotCode": sim.robot_code,
        "openConversationId": GROUP,
        "msgKey": "sampleText",
        "msgParam": '{"content": "hi"}',
    }
    a, b = api(rt), api(rt)  # two worker processes share Redis
    a.call("POST", GROUP_SEND, body)
    b.call("POST", GROUP_SEND, body)
    assert len(calls(sim, TOKEN_PATH)) == 1
    sim.expire_tokens()
    b.call("POST", GROUP_SEND, body)  # InvalidAuthentication → one refresh → success
    a.call("POST", GROUP_SEND, body)  # picks the refreshed token from Redis
    assert len(calls(sim, TOKEN_PATH)) == 2
    bad = {"code": "InvalidAuthentication", "requestid": "r", "message": "不合法的access_token"}
    sim.inject(GROUP_SEND, 400, bad, times=2)
    with pytest.raises(ApiError) as err:
        a.call("POST", GROUP_SEND, body)
    assert err.value.code == "InvalidAuthentication" and err.value.retryable
    assert len(calls(sim, TOKEN_PATH)) == 3  # refreshed once, not in a loop


def test_limiter_spaces_calls_and_refuses_beyond_patience(rt: Runtime) -> None:
    limiter = RateLimiter(rt.redis, f"{rt.settings.redis.queue_prefix}:t", qps=10, max_wait=0.35)
    # slots as instants (call time + wait), so a descheduled test thread does not shift them
    slots = []
    for _ in range(4):
        called = time.time()
        slots.append(called + limiter.reserve("/x"))
    gaps = [b - a for a, b in zip(slots, slots[1:], strict=False)]
    assert all(g == pytest.approx(0.1, abs=0.03) for g in gaps), gaps
    called = time.time()
    with pytest.raises(RateLimited) as err:
        limiter.reserve("/x")  # the fifth slot is past the patience of 0.35 s
    assert err.value.retry_after == pytest.approx(slots[0] + 0.4 - called, abs=0.05)
    assert limiter.reserve("/other") == pytest.approx(0, abs=0.02)  # per API path


def test_shared_limiter_keeps_four_workers_under_the_server_limit(
    rt: Runtime, sim: DingTalkSimulator
) -> None:
    body = {
        "robotCode": sim.robot_code,
        "userIds": ["u-zhang"],
        "msgKey": "sampleText",
        "msgParam": '{"content": "x"}',
    }
    # the full 20 QPS: a call is let go only once the one 20 before it was answered a second
    # ago, so a loaded machine delivering calls late and bunched cannot overfill the window
    clients = [api(rt, qps=20) for _ in range(4)]
    clients[0].call("POST", BATCH_SEND, body)  # token fetched once
    started = time.monotonic()
    threads = [
        threading.Thread(target=lambda c=c: [c.call("POST", BATCH_SEND, body) for _ in range(10)])
        for c in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert sim.state()["stats"]["qps_rejected"] == {}
    # the 41st call a window after the 21st, which is 19 spaced slots after the 2nd
    assert elapsed >= 1.0 + 19 * 0.05 - 0.01
    assert len(robot_messages(sim, "u-zhang")) == 41


def test_qps_refusals_are_retried_and_counted(rt: Runtime, sim: DingTalkSimulator) -> None:
    refusal = {"code": QPS_APP, "requestid": "r", "message": "应用调用该接口的QPS超过限制"}
    sim.inject(BATCH_SEND, 403, refusal, times=2)
    queue(rt, ToDingTalkUsers(("u-zhang",), "限流后重试"))
    started = time.monotonic()
    drain(rt)
    assert time.monotonic() - started >= 1.0 + 2.0  # the server's window, then twice that
    assert len(robot_messages(sim, "u-zhang")) == 1
    assert metrics._read(rt, "dingtalk_qps_retries") == 2
    # refused again after the in-process retries: the row waits for a later attempt
    sim.inject(BATCH_SEND, 403, refusal, times=QPS_RETRIES + 1)
    queue(rt, ToDingTalkUsers(("u-li",), "稍后再发"))
    drain(rt)
    row = rows(rt)[-1]
    assert row.status == "pending" and QPS_APP in (row.last_error or "")
    time.sleep(0.3)
    make_due(rt)
    drain(rt)
    assert rows(rt)[-1].status == "sent" and len(robot_messages(sim, "u-li")) == 1


def test_every_call_has_a_timeout(rt: Runtime, sim: DingTalkSimulator) -> None:
    sim.set_latency(GROUP_SEND, 1.5)
    client = api(rt, timeout=0.3)
    body = {
        "robotCode": sim.robot_code,
        "openConversationId": GROUP,
        "msgKey": "sampleText",
        "msgParam": '{"content": "x"}',
    }
    started = time.monotonic()
    with pytest.raises(ApiError) as err:
        client.call("POST", GROUP_SEND, body)
    assert err.value.code == "timeout" and err.value.retryable
    assert time.monotonic() - started < 1.0


def test_group_message_names_the_people_the_api_cannot_at(
    rt: Runtime, sim: DingTalkSimulator, directory: Any
) -> None:
    queue(rt, ToDingTalkGroup(GROUP, "#7 已超时，请尽快接单", at_user_ids=("u-zhang", "u-unknown")))
    drain(rt)
    [msg] = [e for e in sim.group_view(GROUP) if e["sender"] == "robot"]
    assert msg["msgtype"] == "sampleText"
    assert msg["body"]["content"] == "#7 已超时，请尽快接单\n\n@张伟 @u-unknown"


def test_reply_uses_the_session_webhook_while_valid_then_the_openapi(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    start_stream()
    sim.user_sends_group_text("u-zhang", GROUP, "你好")
    wait_until(lambda: len(inbox(rt)) == 1)
    event = staff_text_from(inbox(rt)[0].payload)
    assert event is not None and event.reply_webhook and event.reply_webhook_expires_at

    def reply(text: str, expires: datetime | None) -> None:
        queue(rt, ReplyToStaff("u-zhang", text, GROUP, "group", event.reply_webhook, expires))
        drain(rt)

    reply("经由会话", event.reply_webhook_expires_at)
    sim.advance(2 * 3600)  # DingTalk's session is gone, though our copy of the expiry is not
    reply("会话已过期", datetime.now(UTC) + timedelta(hours=1))
    reply("已知过期", datetime.now(UTC) - timedelta(seconds=1))
    mine = ("经由会话", "会话已过期", "已知过期")
    robot = [e for e in sim.group_view(GROUP) if e["sender"] == "robot" and e["text"] in mine]
    assert [(e["text"], e["via"]) for e in robot] == [
        ("经由会话", "sessionWebhook"),
        ("会话已过期", "openapi"),
        ("已知过期", "openapi"),
    ]
    assert robot[0]["at_user_ids"] == ["u-zhang"]
    queue(rt, ReplyToStaff("u-li", "私聊回复", None, "private", None, None))
    drain(rt)
    assert [e["text"] for e in robot_messages(sim, "u-li")] == ["私聊回复"]
