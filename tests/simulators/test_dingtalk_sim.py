"""The DingTalk simulator against the real dingtalk_stream 0.24.3 SDK (and raw HTTP/websocket)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dingtalk_stream
import pytest
import requests
from dingtalk_stream import AckMessage, CallbackMessage, CardCallbackMessage, ChatbotMessage
from dingtalk_stream.card_replier import CardReplier
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect as ws_connect

from bot.simulators.dingtalk import CARD_TOPIC, DingTalkSimulator, redirect_sdk
from bot.simulators.dingtalk.support import QpsLimiter

APP_KEY = "dingsimappkey"
APP_SECRET = "sim-secret"
CID = "cidStationEast=="
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dingtalk"
CLAIMED = {
    "cardData": {"cardParamMap": {"status": "已接单"}},
    "userPrivateData": {"cardParamMap": {"mine": "true"}},
    "cardUpdateOptions": {"updateCardDataByKey": True, "updatePrivateDataByKey": True},
}


def fixture(name: str) -> dict[str, Any]:
    """A documented payload from tests/fixtures/dingtalk (without its _source note)."""
    data = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    data.pop("_source")
    return data


def wait_until(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    """Poll until predicate() is truthy; fail the test after `timeout` real seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


# -- the real SDK, run in its own thread and loop ----------------------------------------------
class LocalStreamClient(dingtalk_stream.DingTalkStreamClient):
    """The SDK client, minus its UDP 'connect' to a public resolver for the local IP."""

    def get_host_ip(self) -> str:
        return "127.0.0.1"


class BotRecorder(dingtalk_stream.ChatbotHandler):
    """Records every bot-message frame; the first `fail_first` ones crash (so no ACK is sent)."""

    def __init__(self, fail_first: int = 0) -> None:
        super().__init__()
        self.frames: list[CallbackMessage] = []
        self.fail_first = fail_first

    async def process(self, callback: CallbackMessage) -> tuple[int, str]:
        self.frames.append(callback)
        if len(self.frames) <= self.fail_first:
            raise RuntimeError("simulated handler crash")
        return AckMessage.STATUS_OK, "OK"

    def message(self, index: int = -1) -> ChatbotMessage:
        return ChatbotMessage.from_dict(self.frames[index].data)


class CardRecorder(dingtalk_stream.CallbackHandler):
    """Answers card callbacks with a fixed card update (or crashes, sending no ACK)."""

    def __init__(self, response: dict[str, Any] | None = None, crash: bool = False) -> None:
        super().__init__()
        self.received: list[CardCallbackMessage] = []
        self.response = response if response is not None else CLAIMED
        self.crash = crash

    async def process(self, callback: CallbackMessage) -> tuple[int, dict[str, Any]]:
        self.received.append(CardCallbackMessage.from_dict(callback.data))
        if self.crash:
            raise RuntimeError("simulated handler crash")
        return AckMessage.STATUS_OK, self.response


class SdkRunner:
    """`client.start()` in a daemon thread with its own loop, stoppable despite the SDK
    swallowing the first CancelledError (it then sleeps 10 s; a second cancel ends it)."""

    def __init__(self, client: LocalStreamClient) -> None:
        self.client = client
        self.loop = asyncio.new_event_loop()
        self.main: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self._run, daemon=True, name="sdk-client")
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.main = self.loop.create_task(self.client.start())
        self.loop.run_forever()

    async def _shutdown(self) -> None:
        for _ in range(50):
            if self.main is None or self.main.done():
                break
            self.main.cancel()
            await asyncio.wait({self.main}, timeout=0.05)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


StartSdk = Callable[..., tuple[LocalStreamClient, SdkRunner]]


@pytest.fixture()
def sim() -> Iterator[DingTalkSimulator]:
    """A started simulator with three users and one group; the background ticker is idle so
    every timer fires only through advance() + tick()/redeliver_due()."""
    s = DingTalkSimulator(client_id=APP_KEY, client_secret=APP_SECRET, seed=7, tick_interval=3600)
    s.start()
    s.add_user("u1", "张三")
    s.add_user("u2", "李四")
    s.add_user("u3", "王五")
    s.add_group(CID, "城东联络站", ["u1", "u2"])
    yield s
    s.stop()


def _start_sdk(
    sim: DingTalkSimulator,
    runners: list[SdkRunner],
    *,
    bot: BotRecorder | None = None,
    card: CardRecorder | None = None,
    wait: bool = True,
) -> tuple[LocalStreamClient, SdkRunner]:
    client = LocalStreamClient(dingtalk_stream.Credential(APP_KEY, APP_SECRET))
    if bot is not None:
        client.register_callback_handler(ChatbotMessage.TOPIC, bot)
    if card is not None:
        client.register_callback_handler(CARD_TOPIC, card)
    before = sim.connections()
    runner = SdkRunner(client)
    runners.append(runner)
    if wait:
        assert sim.wait_connections(before + 1)
    return client, runner


@pytest.fixture()
def start_sdk(sim: DingTalkSimulator) -> Iterator[StartSdk]:
    """Start real SDK clients against the simulator; all are stopped after the test."""
    restore = redirect_sdk(sim.endpoint)
    runners: list[SdkRunner] = []
    yield lambda **kw: _start_sdk(sim, runners, **kw)
    for runner in runners:
        runner.stop()
    restore()


def api(
    sim: DingTalkSimulator,
    method: str,
    path: str,
    body: Any = None,
    token: str | None = None,
    **headers: str,
) -> requests.Response:
    """One OpenAPI call with the SDK's headers."""
    all_headers = {"Content-Type": "application/json", "Accept": "application/json", **headers}
    if token:
        all_headers["x-acs-dingtalk-access-token"] = token
    data = body if isinstance(body, str) else json.dumps(body or {})
    return requests.request(method, sim.endpoint + path, data=data, headers=all_headers, timeout=5)


def token(sim: DingTalkSimulator) -> str:
    """A valid accessToken."""
    r = api(sim, "POST", "/v1.0/oauth2/accessToken", {"appKey": APP_KEY, "appSecret": APP_SECRET})
    assert r.status_code == 200
    return str(r.json()["accessToken"])


def open_ticket(sim: DingTalkSimulator, topics: tuple[str, ...] = (ChatbotMessage.TOPIC,)) -> str:
    """A connections/open ticket, as the SDK asks for it."""
    body = {
        "clientId": APP_KEY,
        "clientSecret": APP_SECRET,
        "ua": "test",
        "subscriptions": [{"type": "CALLBACK", "topic": t} for t in topics],
    }
    r = api(sim, "POST", "/v1.0/gateway/connections/open", body)
    assert r.status_code == 200
    assert r.json()["endpoint"] == sim.endpoint.replace("http", "ws") + "/connect"
    return str(r.json()["ticket"])


def ws_url(sim: DingTalkSimulator, ticket: str) -> str:
    return sim.endpoint.replace("http", "ws") + "/connect?ticket=" + ticket


# -- frames and payload shapes ------------------------------------------------------------------
def test_group_and_private_frames_match_the_documented_shapes(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder()
    start_sdk(bot=bot)
    mid = sim.user_sends_group_text("u1", CID, "小区门口路灯坏了 @李四")
    wait_until(lambda: len(bot.frames) == 1)

    frame = sim.sent_frames[-1]["frame"]
    documented = fixture("server_frame.json")
    assert frame.keys() == documented.keys()
    assert frame["headers"].keys() == documented["headers"].keys()
    assert isinstance(frame["data"], str) and frame["headers"]["time"].isdigit()
    assert frame["headers"]["messageId"] == mid == bot.frames[0].headers.message_id

    data = bot.frames[0].data
    group_doc = fixture("group_text_callback.json")
    assert data.keys() == group_doc.keys()
    assert {k: type(v) for k, v in data.items()} == {k: type(v) for k, v in group_doc.items()}
    assert data["text"]["content"] == " 小区门口路灯坏了 @李四"
    assert data["conversationType"] == "2" and data["isInAtList"] is True
    assert data["sessionWebhookExpiredTime"] - data["createAt"] == 90 * 60 * 1000
    assert {"dingtalkId": data["chatbotUserId"]} in data["atUsers"]
    assert any(u.get("staffId") == "u2" for u in data["atUsers"])  # @李四 is a member
    assert data["sessionWebhook"].startswith(sim.endpoint + "/robot/sendBySession?session=")

    sim.user_sends_private_text("u3", "你好")
    wait_until(lambda: len(bot.frames) == 2)
    private = bot.frames[1].data
    assert private.keys() == group_doc.keys() - {"conversationTitle", "atUsers", "isInAtList"}
    assert private["conversationType"] == "1" and private["text"]["content"] == "你好"
    assert bot.message().sender_staff_id == "u3"


def test_ack_clears_the_unacked_table_and_replies_reach_the_group(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder()
    start_sdk(bot=bot)
    sim.user_sends_group_text("u1", CID, "路灯坏了")
    wait_until(lambda: bot.frames and sim.pending_unacked() == 0)
    ack = sim.acks[-1]
    assert ack["code"] == 200 and ack["headers"]["messageId"] == bot.frames[0].headers.message_id
    assert json.loads(ack["data"]) == {"response": "OK"}

    assert bot.reply_markdown("已受理", "**编号 #1**", bot.message()) == {
        "errcode": 0,
        "errmsg": "ok",
    }
    user_msg, reply = sim.group_view(CID)
    assert user_msg["sender"] == "u1" and user_msg["text"] == "路灯坏了"
    assert reply["sender"] == "robot" and reply["msgtype"] == "markdown"
    assert reply["body"]["text"] == "**编号 #1**" and reply["at_user_ids"] == ["u1"]


def test_unacked_frame_is_redelivered_with_the_same_ids(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder(fail_first=1)
    start_sdk(bot=bot)
    mid = sim.user_sends_group_text("u1", CID, "第一次")
    wait_until(lambda: len(bot.frames) == 1)
    assert sim.pending_unacked() == 1
    sim.advance(59)
    assert sim.redeliver_due() == []
    sim.advance(1)
    assert sim.redeliver_due() == [mid]
    wait_until(lambda: len(bot.frames) == 2 and sim.pending_unacked() == 0)
    first, second = bot.frames
    assert first.headers.message_id == second.headers.message_id == mid
    assert first.data == second.data
    assert sim.stats["redelivered"] == 1


def test_frame_waits_for_a_connection_and_goes_only_to_subscribers(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    mid = sim.user_sends_private_text("u3", "有人吗")
    assert sim.pending_unacked() == 1
    card_only = CardRecorder()
    start_sdk(card=card_only)
    assert sim.pending_unacked() == 1  # not subscribed to bot messages: nothing sent to it
    bot = BotRecorder()
    start_sdk(bot=bot)
    wait_until(lambda: bot.frames and sim.pending_unacked() == 0)
    assert bot.frames[0].headers.message_id == mid


def test_each_frame_goes_to_one_random_connection(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bots = [BotRecorder(), BotRecorder()]
    for bot in bots:
        start_sdk(bot=bot)
    for i in range(20):
        sim.user_sends_private_text("u3", f"消息 {i}")
    wait_until(lambda: sum(len(b.frames) for b in bots) == 20 and sim.pending_unacked() == 0)
    assert all(bot.frames for bot in bots)


# -- connection lifecycle -----------------------------------------------------------------------
def test_open_connection_checks_credentials_and_content_type(sim: DingTalkSimulator) -> None:
    path = "/v1.0/gateway/connections/open"
    subs = [{"type": "CALLBACK", "topic": ChatbotMessage.TOPIC}]
    bad = api(sim, "POST", path, {"clientId": APP_KEY, "clientSecret": "x", "subscriptions": subs})
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalidClientIdOrSecret" and bad.json()["requestid"]
    good = {"clientId": APP_KEY, "clientSecret": APP_SECRET, "subscriptions": subs}
    form = requests.post(sim.endpoint + path, data={"clientId": APP_KEY}, timeout=5)
    assert form.status_code == 400
    xml = api(sim, "POST", path, good, Accept="*/*")
    assert xml.headers["Content-Type"].startswith("application/xml") and "<ticket>" in xml.text


def test_tickets_are_single_use_and_expire_after_90_seconds(sim: DingTalkSimulator) -> None:
    ticket = open_ticket(sim)
    with ws_connect(ws_url(sim, ticket)):
        assert sim.wait_connections(1)
        with pytest.raises(InvalidStatus) as used:
            ws_connect(ws_url(sim, ticket))
        assert used.value.response.status_code == 403
    stale = open_ticket(sim)
    sim.advance(90)
    with pytest.raises(InvalidStatus) as expired:
        ws_connect(ws_url(sim, stale))
    assert expired.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as unknown:
        ws_connect(ws_url(sim, "no-such-ticket"))
    assert unknown.value.response.status_code == 401
    assert sim.stats["tickets_rejected"] == 3


def test_disconnect_makes_the_sdk_reconnect_with_a_fresh_ticket(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder()
    start_sdk(bot=bot)
    old = sim.connection_ids()
    assert sim.stats["tickets_issued"] == 1
    sim.disconnect_all()
    wait_until(lambda: sim.stats["tickets_issued"] == 2 and sim.connections() == 1)
    assert sim.connection_ids() != old
    assert sim.stats["disconnect_acks"] == 1
    sim.user_sends_group_text("u1", CID, "重连后")
    wait_until(lambda: bot.frames and sim.pending_unacked() == 0)


def test_disconnect_closes_a_silent_client_after_the_grace_period(sim: DingTalkSimulator) -> None:
    with ws_connect(ws_url(sim, open_ticket(sim))) as ws:
        assert sim.wait_connections(1)
        sim.disconnect_all("connection is expired")
        frame = json.loads(ws.recv(timeout=2))
        assert frame["type"] == "SYSTEM" and frame["headers"]["topic"] == "disconnect"
        assert json.loads(frame["data"]) == {"reason": "connection is expired"}
        assert sim.connections() == 0  # draining: no new frames
        sim.user_sends_group_text("u1", CID, "不会送到这条连接")
        sim.advance(9.9)
        sim.tick()
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
        sim.advance(0.1)
        sim.tick()
        with pytest.raises(ConnectionClosedOK) as closed:
            ws.recv(timeout=2)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


def test_ping_echo_is_verified(sim: DingTalkSimulator, start_sdk: StartSdk) -> None:
    start_sdk(bot=BotRecorder())
    sim.ping_all()
    wait_until(lambda: sim.pings and sim.pings[0]["status"] != "pending")
    assert sim.pings[0]["status"] == "ok" and sim.stats["ping_ok"] == 1
    with ws_connect(ws_url(sim, open_ticket(sim))) as ws:
        assert sim.wait_connections(2)
        sim.ping_all()
        ping = json.loads(ws.recv(timeout=2))
        assert ping["headers"]["topic"] == "ping" and "opaque" in json.loads(ping["data"])
        wrong = {
            "code": 200,
            "headers": {"messageId": ping["headers"]["messageId"]},
            "message": "OK",
            "data": json.dumps({"opaque": "wrong"}),
        }
        ws.send(json.dumps(wrong))
        wait_until(lambda: sim.stats["ping_bad"] == 1)
    statuses = sorted(p["status"] for p in sim.pings)
    assert statuses == ["bad", "ok", "ok"]


def test_malformed_frames_and_dropped_connections(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder()
    start_sdk(bot=bot)
    sim.push_raw_frame({"specVersion": "1.0", "type": "NOPE", "headers": {}, "data": "{}"})
    time.sleep(0.1)
    assert sim.connections() == 1  # the SDK logs and ignores an unknown type
    sim.push_raw_frame("this is not json")
    # SDK 0.24.3 lets the JSON error escape its read loop: it drops the socket (reconnects in 3 s)
    wait_until(lambda: sim.connections() == 0)
    with ws_connect(ws_url(sim, open_ticket(sim))) as raw:
        assert sim.wait_connections(1)
        sim.drop_connections()
        assert sim.connections() == 0
        with pytest.raises(ConnectionClosedError):  # no close frame: an abnormal closure
            raw.recv(timeout=2)


# -- OpenAPI ------------------------------------------------------------------------------------
def test_access_token_is_stable_then_expires(sim: DingTalkSimulator) -> None:
    first = token(sim)
    assert token(sim) == first
    send = "/v1.0/robot/groupMessages/send"
    body = {
        "robotCode": APP_KEY,
        "openConversationId": CID,
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "hi"}),
    }
    assert api(sim, "POST", send, body, first).status_code == 200
    missing = api(sim, "POST", send, body)
    assert (missing.status_code, missing.json()["code"]) == (
        400,
        "AuthenticationFailed.MissingParameter",
    )
    sim.advance(7200)
    expired = api(sim, "POST", send, body, first)
    assert expired.status_code == 400
    assert expired.json()["code"] == "InvalidAuthentication"
    assert expired.json()["message"] == "不合法的access_token"
    assert token(sim) != first
    bad = api(sim, "POST", "/v1.0/oauth2/accessToken", {"appKey": APP_KEY, "appSecret": "no"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalidClientIdOrSecret")


def test_qps_limit_rejects_calls_over_20_per_second_with_403(sim: DingTalkSimulator) -> None:
    tok = token(sim)
    path = "/v1.0/robot/groupMessages/send"
    body = {
        "robotCode": APP_KEY,
        "openConversationId": CID,
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "刷屏"}),
    }
    with requests.Session() as http:
        codes = [
            http.post(
                sim.endpoint + path,
                json=body,
                timeout=5,
                headers={"x-acs-dingtalk-access-token": tok},
            )
            for _ in range(40)
        ]
    assert all(r.status_code == 200 for r in codes[:20])
    rejected = [r for r in codes if r.status_code == 403]
    assert (
        rejected and rejected[0].json()["code"] == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"
    )
    assert sim.stats["qps_rejected"][path] == len(rejected)
    assert len(sim.group_view(CID)) == 40 - len(rejected)


def test_batch_send_limits_and_per_user_results(sim: DingTalkSimulator) -> None:
    tok = token(sim)
    path = "/v1.0/robot/oToMessages/batchSend"
    md = json.dumps({"title": "新工单", "text": "**#12** 路灯"})
    body = {"robotCode": APP_KEY, "msgKey": "sampleMarkdown", "msgParam": md}
    over = api(sim, "POST", path, {**body, "userIds": [f"x{i}" for i in range(21)]}, tok)
    assert (over.status_code, over.json()["code"]) == (400, "invalidParameter.userIds.overMax")
    sim.flow_control("u2")
    ok = api(sim, "POST", path, {**body, "userIds": ["u1", "u2", "ghost"]}, tok)
    assert ok.status_code == 200
    assert ok.json()["invalidStaffIdList"] == ["ghost"]
    assert ok.json()["flowControlledStaffIdList"] == ["u2"]
    assert [m["body"] for m in sim.private_view("u1")] == [json.loads(md)]
    assert sim.private_view("u2") == []
    as_object = api(sim, "POST", path, {**body, "userIds": ["u1"], "msgParam": {"title": "t"}}, tok)
    assert as_object.json()["code"] == "invalidParameter.msgParam.invalid"
    no_text = api(sim, "POST", path, {**body, "userIds": ["u1"], "msgParam": '{"title":"t"}'}, tok)
    assert no_text.json()["code"] == "invalidParameter.msgParam.invalid"
    bad_key = api(
        sim, "POST", path, {**body, "userIds": ["u1"], "msgKey": "sampleActionCard1"}, tok
    )
    assert bad_key.json()["code"] == "invalidParameter.msgKey.invalid"
    wrong_robot = api(sim, "POST", path, {**body, "userIds": ["u1"], "robotCode": "other"}, tok)
    assert wrong_robot.json()["code"] == "invalidParameter.robotCode.auth"
    assert {c[1] for c in sim.calls} >= {path, "/v1.0/oauth2/accessToken"}


def test_session_webhook_expires_after_90_minutes(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder()
    start_sdk(bot=bot)
    sim.user_sends_private_text("u3", "查询进度")
    wait_until(lambda: bot.frames)
    incoming = bot.message()
    assert bot.reply_text("处理中", incoming) == {"errcode": 0, "errmsg": "ok"}
    sim.advance(90 * 60)
    assert bot.reply_text("太晚了", incoming)["errcode"] == 300001
    assert [m["text"] for m in sim.private_view("u3")] == ["查询进度", "处理中"]


def test_inject_and_latency(sim: DingTalkSimulator) -> None:
    tok = token(sim)
    path = "/v1.0/robot/groupMessages/send"
    body = {
        "robotCode": APP_KEY,
        "openConversationId": CID,
        "msgKey": "sampleText",
        "msgParam": json.dumps({"content": "hi"}),
    }
    sim.inject(path, 500, {"code": "ServiceUnavailable", "requestid": "r", "message": "busy"})
    first = api(sim, "POST", path, body, tok)
    assert (first.status_code, first.json()["code"]) == (500, "ServiceUnavailable")
    assert api(sim, "POST", path, body, tok).status_code == 200
    sim.set_latency(path, 0.3)
    started = time.monotonic()
    assert api(sim, "POST", path, body, tok).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert api(sim, "GET", "/v1.0/no/such/api", None, tok).status_code == 404


def test_picture_download_code_resolves_to_a_local_file(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder()
    start_sdk(bot=bot)
    sim.user_sends_picture("u1", CID)
    wait_until(lambda: bot.frames)
    incoming = bot.message()
    assert incoming.message_type == "picture"
    url = bot.get_image_download_url(incoming.image_content.download_code)
    assert url.startswith(sim.endpoint)
    assert requests.get(url, timeout=5).content.startswith(b"\x89PNG")


# -- cards --------------------------------------------------------------------------------------
def test_card_click_applies_the_ack_response(sim: DingTalkSimulator, start_sdk: StartSdk) -> None:
    bot, card = BotRecorder(), CardRecorder()
    client, _ = start_sdk(bot=bot, card=card)
    sim.user_sends_group_text("u1", CID, "路灯坏了")
    wait_until(lambda: bot.frames)
    out_track_id = CardReplier(client, bot.message()).create_and_deliver_card(
        "case.schema", {"title": "#12 路灯", "status": "待接单"}, at_sender=True
    )
    assert sim.card(out_track_id)["cardParamMap"] == {"title": "#12 路灯", "status": "待接单"}
    entry = sim.group_view(CID)[-1]
    assert entry["kind"] == "card" and entry["at_user_ids"] == ["u1"]

    response = sim.user_clicks("u2", out_track_id, {"action": "claim"}, action_id="claim_btn")
    assert response == CLAIMED
    state = sim.card(out_track_id)
    assert state["cardParamMap"] == {"title": "#12 路灯", "status": "已接单"}
    assert state["privateData"] == {"u2": {"cardParamMap": {"mine": "true"}}}

    received = card.received[0]
    assert received.card_instance_id == out_track_id and received.user_id == "u2"
    assert received.content["cardPrivateData"] == {
        "actionIds": ["claim_btn"],
        "params": {"action": "claim"},
    }
    callback_frame = next(
        f["frame"]
        for f in reversed(sim.sent_frames)
        if f["frame"]["headers"].get("topic") == CARD_TOPIC
    )
    assert json.loads(callback_frame["data"]).keys() == fixture("card_callback.json").keys()
    with pytest.raises(ValueError):
        sim.user_clicks("u3", out_track_id, {"action": "claim"})  # not in the group


def test_card_click_without_ack_times_out_after_2_seconds(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    start_sdk(card=CardRecorder(crash=True))
    tok = token(sim)
    body = {
        "cardTemplateId": "t",
        "outTrackId": "case-1",
        "callbackType": "STREAM",
        "cardData": {"cardParamMap": {"status": "待接单"}},
        "openSpaceId": "dtv1.card//IM_ROBOT.u3",
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT"},
    }
    assert api(sim, "POST", "/v1.0/card/instances/createAndDeliver", body, tok).status_code == 200
    started = time.monotonic()
    assert sim.user_clicks("u3", "case-1", {"action": "claim"}) is None
    assert 1.9 <= time.monotonic() - started < 3
    assert sim.card("case-1")["cardParamMap"] == {"status": "待接单"}
    assert sim.stats["card_callback_timeouts"] == 1


def test_card_api_create_deliver_update_stream(sim: DingTalkSimulator) -> None:
    tok = token(sim)
    create = {
        "cardTemplateId": "t",
        "outTrackId": "c1",
        "callbackType": "STREAM",
        "cardData": {"cardParamMap": {"a": "1", "b": "2", "n": 3}},
    }
    assert api(sim, "POST", "/v1.0/card/instances", create, tok).json() == {
        "success": True,
        "result": "c1",
    }
    assert sim.card("c1")["cardParamMap"]["n"] == "3"  # scalars are stringified
    dup = api(sim, "POST", "/v1.0/card/instances", create, tok)
    assert (dup.status_code, dup.json()["code"]) == (400, "param.outTrackIdDuplicate")

    deliver = {
        "outTrackId": "c1",
        "userIdType": 1,
        "openSpaceId": f"dtv1.card//IM_GROUP.{CID};IM_GROUP.cidUnknown==",
        "imGroupOpenDeliverModel": {"robotCode": APP_KEY, "atUserIds": {"@ALL": "@ALL"}},
    }
    results = api(sim, "POST", "/v1.0/card/instances/deliver", deliver, tok).json()["result"]
    assert [r["success"] for r in results] == [True, False]
    assert sim.group_view(CID)[-1]["at_all"] is True

    update = {
        "outTrackId": "c1",
        "cardData": {"cardParamMap": {"a": "9"}},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }
    assert api(sim, "PUT", "/v1.0/card/instances", update, tok).json()["result"] is True
    assert sim.card("c1")["cardParamMap"] == {"a": "9", "b": "2", "n": "3"}
    replace = {"outTrackId": "c1", "cardData": {"cardParamMap": {"only": "x"}}}
    api(sim, "PUT", "/v1.0/card/instances", replace, tok)
    assert sim.card("c1")["cardParamMap"] == {"only": "x"}

    for content, full in (("你好", True), ("，世界", False)):
        chunk = {
            "outTrackId": "c1",
            "guid": content,
            "key": "answer",
            "content": content,
            "isFull": full,
            "isFinalize": not full,
            "isError": False,
        }
        assert api(sim, "PUT", "/v1.0/card/streaming", chunk, tok).status_code == 200
    assert sim.card("c1")["cardParamMap"]["answer"] == "你好，世界"
    assert sim.card("c1")["streaming"]["answer"]["isFinalize"] is True

    missing = api(sim, "PUT", "/v1.0/card/instances", {"outTrackId": "nope"}, tok)
    assert (missing.status_code, missing.json()["code"]) == (400, "param.cardInstanceNotExist")
    bad_space = api(
        sim,
        "POST",
        "/v1.0/card/instances/createAndDeliver",
        {**create, "outTrackId": "c2", "openSpaceId": "IM_GROUP.x"},
        tok,
    )
    assert bad_space.json()["code"] == "param.openSpaceIdInvalid"


# -- control routes and the background ticker ---------------------------------------------------
def test_control_routes_share_the_python_implementation(
    sim: DingTalkSimulator, start_sdk: StartSdk
) -> None:
    bot = BotRecorder()
    start_sdk(bot=bot, card=CardRecorder())
    r = requests.post(
        sim.endpoint + "/_sim/user/group_text",
        timeout=5,
        json={"user_id": "u2", "conversation_id": CID, "text": "网页发的"},
    )
    assert r.status_code == 200
    wait_until(lambda: bot.frames)
    assert bot.frames[0].headers.message_id == r.json()["messageId"]
    group = requests.get(f"{sim.endpoint}/_sim/group/{CID}", timeout=5).json()
    assert group["title"] == "城东联络站" and group["messages"][0]["text"] == "网页发的"
    bad = requests.post(
        sim.endpoint + "/_sim/user/private_text", json={"user_id": "nobody", "text": "x"}, timeout=5
    )
    assert bad.status_code == 400 and "nobody" in bad.json()["error"]

    tok = token(sim)
    body = {
        "cardTemplateId": "t",
        "outTrackId": "c9",
        "callbackType": "STREAM",
        "cardData": {"cardParamMap": {"status": "待接单"}},
        "openSpaceId": f"dtv1.card//IM_GROUP.{CID}",
        "imGroupOpenDeliverModel": {"robotCode": APP_KEY},
    }
    api(sim, "POST", "/v1.0/card/instances/createAndDeliver", body, tok)
    click = requests.post(
        sim.endpoint + "/_sim/user/click",
        timeout=5,
        json={"user_id": "u1", "out_track_id": "c9", "params": {"a": "b"}},
    )
    assert click.json()["response"] == CLAIMED
    shown = requests.get(sim.endpoint + "/_sim/card/c9", timeout=5).json()
    assert shown["cardParamMap"]["status"] == "已接单"
    assert requests.get(sim.endpoint + "/_sim/user/u1", timeout=5).json()["messages"] == []


def test_background_ticker_redelivers_and_pings_in_real_time() -> None:
    live = DingTalkSimulator(
        client_id=APP_KEY,
        client_secret=APP_SECRET,
        seed=3,
        redelivery_delay=0.3,
        ping_interval=0.2,
        tick_interval=0.05,
    )
    with live:
        live.add_user("u1", "张三")
        restore = redirect_sdk(live.endpoint)
        runners: list[SdkRunner] = []
        try:
            bot = BotRecorder(fail_first=1)
            _start_sdk(live, runners, bot=bot)
            live.user_sends_private_text("u1", "会自动重发")
            wait_until(lambda: len(bot.frames) == 2 and live.pending_unacked() == 0)
            wait_until(lambda: live.stats["ping_ok"] >= 1)
        finally:
            for runner in runners:
                runner.stop()
            restore()


def test_qps_window_is_a_rolling_second_per_path_and_refusals_do_not_count() -> None:
    now = [100.0]
    limiter = QpsLimiter(20, monotonic=lambda: now[0])
    for i in range(20):  # 20 calls spread over 0.95 s
        now[0] = 100.0 + i * 0.05
        assert limiter.admit("/a")
    assert not limiter.admit("/a")  # the 21st within the same second
    assert limiter.admit("/b")  # each API path has its own allowance
    now[0] = 100.99
    assert not limiter.admit("/a")  # all 20 are still within the last second
    now[0] = 101.0  # the first call has left the last second (the refusals never counted)
    assert limiter.admit("/a")
    assert not limiter.admit("/a")  # ... and only that one
