"""`lianxin stream` through the real SDK against the simulator: exactly-once recording,
redelivery, reconnects, the watchdog, malformed frames, several processes at once."""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pydantic import SecretStr

from bot.dingtalk.events import BOT_TOPIC, CARD_TOPIC, staff_text_from
from bot.dingtalk.stream import StreamOptions, backoff_delay
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from tests.bot.dingtalk.conftest import (
    FAST,
    GROUP,
    ROOT,
    StartStream,
    inbox,
    inbox_locked,
    service_env,
    wait_until,
)


def texts(rt: Runtime) -> list[str]:
    events = [staff_text_from(row.payload) for row in inbox(rt)]
    return [e.text for e in events if e is not None]


def test_group_and_private_messages_are_recorded_once_and_acked(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    start_stream()
    group_mid = sim.user_sends_group_text("u-zhang", GROUP, "待办")
    private_mid = sim.user_sends_private_text("u-li", "帮助")
    wait_until(lambda: len(inbox(rt)) == 2 and sim.pending_unacked() == 0, what="recorded + acked")
    acks = {a["headers"]["messageId"]: a for a in sim.acks}
    assert acks[group_mid]["code"] == 200 and acks[private_mid]["code"] == 200
    assert sorted(texts(rt)) == ["帮助", "待办"]


def test_redelivery_of_a_frame_whose_ack_was_lost_is_recorded_once(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    stream = start_stream()
    with inbox_locked(rt):
        sim.user_sends_group_text("u-zhang", GROUP, "#1 接单")
        time.sleep(0.3)  # the client has the frame; its insert waits on the lock
        sim.drop_connections()  # ... so the ACK can never go out on that socket
    wait_until(lambda: len(inbox(rt)) == 1, what="recorded after the lock")
    wait_until(lambda: stream.client.connects >= 2 and sim.connections() == 1, what="reconnected")
    assert sim.pending_unacked() == 1  # DingTalk never got the ACK
    sim.advance(61)
    assert sim.redeliver_due()  # the same frame again, ~60 s later
    wait_until(lambda: sim.pending_unacked() == 0, what="redelivery acked")
    assert sim.state()["stats"]["redelivered"] == 1
    assert texts(rt) == ["#1 接单"]


def test_disconnect_and_reconnect_mid_stream_lose_and_duplicate_nothing(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    stream = start_stream()
    sent = [sim.user_sends_private_text("u-zhang", f"消息{i}") for i in range(3)]
    sim.disconnect_all()  # scheduled reconnect: the client opens a new connection at once
    sent += [sim.user_sends_private_text("u-zhang", f"消息{i}") for i in range(3, 6)]
    wait_until(lambda: stream.client.connects >= 2, what="new connection after disconnect")
    sim.drop_connections()  # and an abnormal drop, reconnected with backoff
    sent += [sim.user_sends_group_text("u-li", GROUP, f"消息{i}") for i in range(6, 9)]
    wait_until(lambda: len(inbox(rt)) == 9, what="all 9 recorded")
    # frames whose ACK was cut off by the drop come back ~60 s later and are acked as duplicates
    sim.advance(61)
    sim.redeliver_due()
    wait_until(lambda: sim.pending_unacked() == 0, what="everything acked")
    assert sorted(texts(rt)) == sorted(f"消息{i}" for i in range(9))
    assert stream.client.connects >= 3 and len(sent) == 9


def test_watchdog_reconnects_a_silent_socket(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    stream = start_stream(dataclasses.replace(FAST, ping_interval=0.3, watchdog=1.0))
    sim.freeze(2.0)  # no frames, no pongs, TCP still open
    wait_until(lambda: stream.client.connects >= 2, timeout=8, what="watchdog reconnect")
    sim.user_sends_private_text("u-zhang", "还在吗")
    wait_until(lambda: texts(rt) == ["还在吗"], what="message after the reconnect")


def test_pings_are_echoed(sim: DingTalkSimulator, start_stream: StartStream) -> None:
    start_stream()
    sim.ping_all()
    wait_until(lambda: sim.pings and sim.pings[-1]["status"] == "ok", what="ping echo")


def frame(topic: str, data: object, message_id: str, kind: str = "CALLBACK") -> dict[str, object]:
    return {
        "specVersion": "1.0",
        "type": kind,
        "headers": {
            "contentType": "application/json",
            "messageId": message_id,
            "time": "1",
            "topic": topic,
        },
        "data": data if isinstance(data, str) else json.dumps(data),
    }


def test_malformed_frames_are_refused_or_ignored_and_nothing_crashes(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    stream = start_stream()
    sim.push_raw_frame("this is not json")
    sim.push_raw_frame("[1, 2, 3]")
    sim.push_raw_frame({"type": "CALLBACK", "headers": {"topic": BOT_TOPIC}, "data": "{}"})
    sim.push_raw_frame(frame("/v1.0/unknown/topic", {}, "m-unknown-topic"))
    sim.push_raw_frame(frame("whatever", {}, "m-unknown-type", kind="NOPE"))
    sim.push_raw_frame(frame(BOT_TOPIC, "{not json", "m-bad-json"))
    sim.push_raw_frame(frame(BOT_TOPIC, {"msgId": "x"}, "m-no-msgtype"))
    sim.push_raw_frame(frame(CARD_TOPIC, {"userId": "u-zhang", "content": "{}"}, "m-card-no-track"))
    sim.push_raw_frame(frame("chat_update_title", {"x": 1}, "m-event", kind="EVENT"))
    expected = {
        "m-unknown-topic": 404,
        "m-unknown-type": 404,
        "m-bad-json": 400,
        "m-no-msgtype": 400,
        "m-card-no-track": 400,
        "m-event": 200,
    }

    def answered() -> dict[str, int]:
        return {a["headers"].get("messageId"): a["code"] for a in sim.acks}

    wait_until(lambda: expected.items() <= answered().items(), what=f"acks {answered()}")
    event_ack = next(a for a in sim.acks if a["headers"].get("messageId") == "m-event")
    assert json.loads(event_ack["data"])["status"] == "SUCCESS"
    assert stream.client.connects == 1 and sim.connections() == 1  # still the same socket
    assert inbox(rt) == []
    sim.user_sends_private_text("u-zhang", "正常消息")
    wait_until(lambda: texts(rt) == ["正常消息"], what="normal traffic continues")


def test_several_stream_processes_record_each_message_once(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    start_stream()
    start_stream()
    assert sim.connections() == 2
    for i in range(20):
        sim.user_sends_group_text("u-zhang", GROUP, f"第{i}条")
    wait_until(lambda: len(inbox(rt)) == 20 and sim.pending_unacked() == 0, what="20 recorded")
    used = {f["connection_id"] for f in sim.sent_frames if f["frame"].get("type") == "CALLBACK"}
    assert len(used) == 2  # DingTalk spread the frames over both processes
    sim.disconnect_all()  # both reconnect; redelivering everything again changes nothing
    wait_until(lambda: sim.connections() == 2, what="both reconnected")
    assert sorted(texts(rt)) == sorted(f"第{i}条" for i in range(20))


def test_lianxin_stream_process_records_and_stops_cleanly_on_sigterm(
    rt: Runtime, sim: DingTalkSimulator, tmp_path: Path
) -> None:
    log = tmp_path / "stream.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "stream"],
            cwd=ROOT,
            env=service_env(rt),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        assert sim.wait_connections(1, timeout=15), log.read_text()
        sim.user_sends_private_text("u-zhang", "来自子进程")
        wait_until(lambda: texts(rt) == ["来自子进程"] and sim.pending_unacked() == 0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert sim.connections() == 0
    assert "stream stopped" in log.read_text()


def test_refused_registration_backs_off_with_jitter_and_stops_promptly(
    rt: Runtime, sim: DingTalkSimulator, start_stream: StartStream
) -> None:
    rt.settings.dingtalk.client_secret = SecretStr("wrong")
    stream = start_stream(wait=False)
    time.sleep(1.5)
    opens = [body for _, path, body in sim.calls if path == "/v1.0/gateway/connections/open"]
    assert stream.client.connects == 0 and 3 <= len(opens) <= 15  # FAST: 0.05 s doubling to 0.3 s
    assert opens[0]["localIp"] == ""  # no probe of a public address for the local IP
    assert opens[0]["subscriptions"] == [
        {"type": "CALLBACK", "topic": BOT_TOPIC},
        {"type": "CALLBACK", "topic": CARD_TOPIC},
    ]
    started = time.monotonic()
    stream.stop()
    assert time.monotonic() - started < 2.0


def test_stop_does_not_wait_for_a_registration_that_hangs(
    rt: Runtime, start_stream: StartStream
) -> None:
    """An endpoint that accepts the connection and never answers: stop() still returns."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never accepts
        rt.settings.dingtalk.openapi_endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        rt.settings.dingtalk.timeout_seconds = 8.0
        stream = start_stream(dataclasses.replace(FAST, stop_grace=0.3), wait=False)
        time.sleep(0.5)  # connections/open is under way
        started = time.monotonic()
        stream.stop()
        assert time.monotonic() - started < 3.0 and stream.client.connects == 0


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    rng = random.Random(1)
    opts = StreamOptions(backoff_base=1.0, backoff_max=60.0)
    for failures, ceiling in [(1, 1.0), (2, 2.0), (4, 8.0), (7, 60.0), (30, 60.0)]:
        delays = {backoff_delay(failures, opts, rng) for _ in range(50)}
        assert all(ceiling / 10 <= d <= ceiling for d in delays) and len(delays) == 50
