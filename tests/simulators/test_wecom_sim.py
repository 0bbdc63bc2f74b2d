"""Tests of the WeCom simulator, driven over real HTTP like a client and a callback receiver."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
import requests
import xmltodict
from wechatpy.enterprise import WeChatClient
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.simulators.wecom import CallbackCrypto, WeComSimulator, errors, percent_encoded_query, sign
from bot.simulators.wecom.support import TINY_PNG

# Tencent's official vectors (wecom.md §1, weworkapi_python callback/Sample.py)
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP_ID = "ww1436e0e65a779aee"
VERIFY = {
    "sig": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
    "ts": "1476416373",
    "nonce": "47744683",
    "echostr": (
        "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
    ),
}
DECRYPT = {
    "sig": "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
    "ts": "1476422779",
    "nonce": "1597212914",
    "encrypt": (
        "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTk"
        "AgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJP"
        "QbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7Mhm"
        "EbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/"
        "oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
    ),
    "plain": (
        "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
        "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
        "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
    ),
}
SECRET = "app-secret"
AGENT_ID = 1000002
OPEN_KFID = "wkSimulatorKf0001"
HOUR = 3600.0


class FakeClock:
    """A settable base clock; the simulator adds its own advance() offset on top."""

    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


class Receiver:
    """lianxin's side at the network edge: a real HTTP server that decrypts every callback."""

    def __init__(self) -> None:
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
        self.posts: list[dict[str, Any]] = []
        self.script: deque[tuple[float, int, str]] = deque()  # (delay, status, body)
        self.replier: Any = None  # callable(inner_xml, args) -> reply body, for 200s
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/wecom/callback"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.handle(Request(environ))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        args = request.args
        if request.method == "GET":
            plain = self.crypto.check_signature(
                args["msg_signature"], args["timestamp"], args["nonce"], args["echostr"]
            )
            return Response(plain)
        body = request.get_data(as_text=True)
        inner = self.crypto.decrypt_message(
            body, args["msg_signature"], args["timestamp"], args["nonce"]
        )
        self.posts.append(
            {"query": request.query_string, "body": body, "inner": inner, "args": dict(args)}
        )
        delay, status, reply = self.script.popleft() if self.script else (0.0, 200, "")
        if delay:
            time.sleep(delay)
        if status == 200 and self.replier is not None:
            reply = self.replier(inner, args)
        return Response(reply, status=status)

    def inner(self, index: int = -1) -> dict[str, Any]:
        """Parsed inner XML of a received callback."""
        return dict(xmltodict.parse(self.posts[index]["inner"])["xml"])

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(receiver: Receiver, clock: FakeClock) -> Iterator[WeComSimulator]:
    simulator = WeComSimulator(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        open_kfid=OPEN_KFID,
        callback_url=receiver.url,
        clock=clock,
        callback_timeout=2.0,
        members=["zhangsan", "lisi"],
        wait_callbacks=True,
    )
    with simulator:
        yield simulator


class Client:
    """A bare HTTP client of the simulator, posting UTF-8 JSON like wechatpy does."""

    def __init__(self, sim: WeComSimulator) -> None:
        self.sim = sim
        self.http = requests.Session()
        self.http.trust_env = False
        self.token = self.gettoken()["access_token"]

    def gettoken(self, corpid: str = CORP_ID, secret: str = SECRET) -> dict[str, Any]:
        params = {"corpid": corpid, "corpsecret": secret}
        return dict(self.http.get(self.sim.base_url + "gettoken", params=params).json())

    def refresh(self) -> None:
        self.token = self.gettoken()["access_token"]

    def post(self, path: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        params = {"access_token": self.token if token is None else token}
        return dict(self.http.post(self.sim.base_url + path, params=params, data=raw).json())

    def sync(self, token: str, cursor: str = "", limit: int = 1000) -> dict[str, Any]:
        body = {"cursor": cursor, "token": token, "limit": limit, "open_kfid": OPEN_KFID}
        return self.post("kf/sync_msg", body)

    def send_text(self, touser: str, content: str, msgid: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "touser": touser,
            "open_kfid": OPEN_KFID,
            "msgtype": "text",
            "text": {"content": content},
        }
        if msgid:
            body["msgid"] = msgid
        return self.post("kf/send_msg", body)

    def upload(self, data: bytes, media_type: str = "image") -> str:
        files = {"media": ("a.png", data)}
        params = {"access_token": self.token, "type": media_type}
        res = self.http.post(self.sim.base_url + "media/upload", params=params, files=files).json()
        assert res["errcode"] == 0, res
        return str(res["media_id"])


@pytest.fixture
def client(sim: WeComSimulator) -> Client:
    return Client(sim)


def kf_token(receiver: Receiver) -> str:
    inner = receiver.inner()
    assert inner["Event"] == "kf_msg_or_event"
    assert inner["OpenKfId"] == OPEN_KFID
    return str(inner["Token"])


def button_card(task_id: str) -> dict[str, Any]:
    return {
        "card_type": "button_interaction",
        "main_title": {"title": "确认预约", "desc": "联络站A"},
        "task_id": task_id,
        "button_list": [
            {"text": "确认", "style": 1, "key": "confirm:42"},
            {"text": "取消", "style": 2, "key": "cancel:42"},
        ],
    }


# -- crypto ------------------------------------------------------------------------------------


def test_official_verify_url_vector() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    assert sign(TOKEN, VERIFY["ts"], VERIFY["nonce"], VERIFY["echostr"]) == VERIFY["sig"]
    assert crypto.decrypt(VERIFY["echostr"]) == "1288432023552776189"


def test_official_decrypt_msg_vector() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    assert sign(TOKEN, DECRYPT["ts"], DECRYPT["nonce"], DECRYPT["encrypt"]) == DECRYPT["sig"]
    assert crypto.decrypt(DECRYPT["encrypt"]) == DECRYPT["plain"]


def test_envelope_opens_with_wechatpy_and_replies_are_checked() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    env = crypto.envelope(DECRYPT["plain"], timestamp="1476422779", nonce="42", agent_id=AGENT_ID)
    wechatpy_crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    opened = wechatpy_crypto.decrypt_message(env.body, env.msg_signature, env.timestamp, env.nonce)
    assert opened == DECRYPT["plain"]
    reply = wechatpy_crypto.encrypt_message("<xml><MsgType>text</MsgType></xml>", "7", "1")
    assert crypto.open_reply(reply) == "<xml><MsgType>text</MsgType></xml>"
    with pytest.raises(ValueError, match="signature"):
        crypto.open_reply(reply.replace("<Nonce><![CDATA[7]]>", "<Nonce><![CDATA[8]]>"))
    other_corp = WeChatCrypto(TOKEN, AES_KEY, "wwOtherCorp").encrypt_message("<xml/>", "7", "1")
    with pytest.raises(ValueError, match="decrypt"):
        crypto.open_reply(other_corp)
    with pytest.raises(ValueError, match="unreadable"):
        crypto.open_reply("success")


def test_query_percent_encodes_plus_slash_equals() -> None:
    query = percent_encoded_query({"echostr": VERIFY["echostr"]})
    assert "+" not in query and "/" not in query
    assert query.endswith("%3D%3D")
    # why it matters: a raw "+" reaches the receiver as a space and the signature fails
    with pytest.raises(InvalidSignatureException):
        WeChatCrypto(TOKEN, AES_KEY, CORP_ID).check_signature(
            VERIFY["sig"], VERIFY["ts"], VERIFY["nonce"], VERIFY["echostr"].replace("+", " ")
        )


def test_verify_url_round_trip(sim: WeComSimulator) -> None:
    for _ in range(3):  # random echostrs: almost surely some contain "+" or "/"
        body = sim.verify_url()
        assert sim.last_verification is not None
        assert body == sim.last_verification[0]
        assert body.isdigit()


# -- access_token ---------------------------------------------------------------------------


def test_token_lifecycle(sim: WeComSimulator, client: Client) -> None:
    assert client.gettoken(corpid="wwWrong")["errcode"] == errors.INVALID_CORPID
    assert client.gettoken(secret="wrong")["errcode"] == errors.INVALID_SECRET
    issued = client.gettoken()
    assert issued["errcode"] == 0 and issued["expires_in"] == 7200
    body = {"open_kfid": OPEN_KFID}
    assert client.post("kf/account/list", body)["errcode"] == 0
    assert client.post("kf/account/list", body, token="")["errcode"] == errors.MISSING_ACCESS_TOKEN
    assert client.post("kf/account/list", body, token="nope")["errcode"] == 40014
    sim.advance(7199)
    assert client.post("kf/account/list", body)["errcode"] == 0
    sim.advance(1)
    assert client.post("kf/account/list", body)["errcode"] == errors.ACCESS_TOKEN_EXPIRED
    client.refresh()
    assert client.post("kf/account/list", body)["errcode"] == 0
    sim.expire_tokens()
    assert client.post("kf/account/list", body)["errcode"] == errors.ACCESS_TOKEN_EXPIRED


def test_wechatpy_client_against_the_simulator(sim: WeComSimulator) -> None:
    class LocalClient(WeChatClient):
        API_BASE_URL = sim.base_url

        def fetch_access_token(self) -> Any:
            return self._fetch_access_token(
                url=self.API_BASE_URL + "gettoken",
                params={"corpid": self.corp_id, "corpsecret": self.secret},
            )

    wc = LocalClient(CORP_ID, SECRET, timeout=5)
    res = wc.message.send_text(AGENT_ID, "zhangsan", "你好，张代表")
    assert res["errcode"] == 0
    sim.inject("message/send", errors.ACCESS_TOKEN_EXPIRED)
    wc.message.send_text(AGENT_ID, "zhangsan", "第二条")  # wechatpy refetches and retries once
    texts = [m["text"]["content"] for m in sim.app_messages_to("zhangsan")]
    assert texts == ["你好，张代表", "第二条"]
    assert [p for p, _ in sim.calls].count("gettoken") == 2


# -- kf: callbacks, sync_msg ---------------------------------------------------------------


def test_enter_through_contact_link(
    sim: WeComSimulator, client: Client, receiver: Receiver
) -> None:
    link = client.post("kf/add_contact_way", {"open_kfid": OPEN_KFID, "scene": "station_12"})
    assert link["errcode"] == 0 and "enc_scene=" in link["url"]
    welcome = sim.user_enter("wmUser1", link["url"] + "&scene_param=door%3D3-201")
    assert welcome
    assert len(receiver.posts) == 1
    synced = client.sync(kf_token(receiver))
    (event_msg,) = synced["msg_list"]
    assert event_msg["origin"] == 4 and event_msg["msgtype"] == "event"
    assert event_msg["event"] == {
        "event_type": "enter_session",
        "open_kfid": OPEN_KFID,
        "external_userid": "wmUser1",
        "scene": "station_12",
        "scene_param": "door=3-201",
        "welcome_code": welcome,
    }
    with pytest.raises(ValueError):
        sim.user_enter("wmUser1", link["url"].replace("enc_scene=", "enc_scene=X"))


def test_message_shapes_and_media(sim: WeComSimulator, client: Client, receiver: Receiver) -> None:
    t1 = sim.user_text("wmUser1", "小区门口路灯坏了", menu_id="101")
    sim.user_image("wmUser1")
    sim.user_location("wmUser1", 34.59, 119.22, "联络站", "海州区")
    sim.user_voice("wmUser1")
    msgs = client.sync(kf_token(receiver))["msg_list"]
    assert [m["msgtype"] for m in msgs] == ["text", "image", "location", "voice"]
    text = msgs[0]
    assert text == {
        "msgid": t1,
        "open_kfid": OPEN_KFID,
        "external_userid": "wmUser1",
        "send_time": int(sim.now()),
        "origin": 3,
        "msgtype": "text",
        "text": {"content": "小区门口路灯坏了", "menu_id": "101"},
    }
    assert msgs[2]["location"] == {
        "latitude": 34.59,
        "longitude": 119.22,
        "name": "联络站",
        "address": "海州区",
    }
    got = client.http.get(
        sim.base_url + "media/get",
        params={"access_token": client.token, "media_id": msgs[1]["image"]["media_id"]},
    )
    assert got.content == TINY_PNG and got.headers["Content-Type"] == "image/png"
    voice = client.http.get(
        sim.base_url + "media/get",
        params={"access_token": client.token, "media_id": msgs[3]["voice"]["media_id"]},
    )
    assert voice.content.startswith(b"#!AMR")


def test_sync_msg_pagination(sim: WeComSimulator, client: Client, receiver: Receiver) -> None:
    for i in range(5):
        sim.user_text("wmUser1", f"m{i}")
    token = kf_token(receiver)
    seen, cursor, pages = [], "", 0
    while True:
        page = client.sync(token, cursor, limit=2)
        assert page["errcode"] == 0
        seen += [m["text"]["content"] for m in page["msg_list"]]
        cursor, pages = page["next_cursor"], pages + 1
        if not page["has_more"]:
            break
    assert seen == ["m0", "m1", "m2", "m3", "m4"] and pages == 3
    assert client.sync(token, cursor)["msg_list"] == []
    sim.user_text("wmUser1", "m5")
    assert [m["text"]["content"] for m in client.sync(token, cursor)["msg_list"]] == ["m5"]
    assert client.sync(token, "bogus-cursor")["errcode"] == errors.INVALID_PARAM
    assert client.sync(token, limit=1001)["errcode"] == errors.INVALID_PARAM


def test_sync_msg_token_window_and_three_days(
    sim: WeComSimulator, client: Client, receiver: Receiver
) -> None:
    sim.user_text("wmUser1", "old")
    token = kf_token(receiver)
    sim.advance(600)
    assert client.sync(token)["errcode"] == 0
    sim.advance(1)
    assert client.sync(token)["errcode"] == errors.KF_INVALID_MSG_TOKEN
    assert client.sync("ENCforged")["errcode"] == errors.KF_INVALID_MSG_TOKEN
    assert client.sync("")["errcode"] == 0  # tokenless is allowed, but rate limited
    assert client.sync("")["errcode"] == 0
    assert client.sync("")["errcode"] == errors.FREQ_LIMIT
    sim.advance(3 * 24 * HOUR)
    sim.user_text("wmUser1", "new")
    client.refresh()
    msgs = client.sync(kf_token(receiver))["msg_list"]
    assert [m["text"]["content"] for m in msgs] == ["new"]


def test_sync_never_returns_api_sent_messages(
    sim: WeComSimulator, client: Client, receiver: Receiver
) -> None:
    sim.user_text("wmUser1", "hi")
    assert client.send_text("wmUser1", "已收到，编号 #123")["errcode"] == 0
    msgs = client.sync(kf_token(receiver))["msg_list"]
    assert [m["origin"] for m in msgs] == [3]


# -- kf: send rules ---------------------------------------------------------------------------


def test_send_quota_five_then_refused_and_reset(sim: WeComSimulator, client: Client) -> None:
    sim.user_text("wmUser1", "hi")
    for i in range(5):
        assert client.send_text("wmUser1", f"reply {i}")["errcode"] == 0
    assert client.send_text("wmUser1", "sixth")["errcode"] == errors.KF_SEND_COUNT_LIMIT
    sim.user_text("wmUser1", "again")
    assert client.send_text("wmUser1", "sixth")["errcode"] == 0
    assert [m["text"]["content"] for m in sim.seen_by("wmUser1")][-1] == "sixth"
    assert len(sim.seen_by("wmUser1")) == 6


def test_send_window_state_and_unknown_user(sim: WeComSimulator, client: Client) -> None:
    assert client.send_text("wmNobody", "hi")["errcode"] == errors.KF_SEND_TIME_LIMIT
    sim.user_text("wmUser1", "hi")
    trans = {
        "open_kfid": OPEN_KFID,
        "external_userid": "wmUser1",
        "service_state": 3,
        "servicer_userid": "zhangsan",
    }
    res = client.post("kf/service_state/trans", trans)
    assert res["errcode"] == 0 and res["msg_code"]
    state = client.post(
        "kf/service_state/get", {"open_kfid": OPEN_KFID, "external_userid": "wmUser1"}
    )
    assert (state["service_state"], state["servicer_userid"]) == (3, "zhangsan")
    assert client.send_text("wmUser1", "bot")["errcode"] == errors.KF_SESSION_STATUS_INVALID
    sim.set_session_state("wmUser1", 1)
    assert client.send_text("wmUser1", "bot")["errcode"] == 0
    sim.advance(48 * HOUR + 1)
    client.refresh()
    assert client.send_text("wmUser1", "late")["errcode"] == errors.KF_SEND_TIME_LIMIT


def test_repeated_msgid_is_not_delivered_twice(sim: WeComSimulator, client: Client) -> None:
    sim.user_text("wmUser1", "hi")
    first = client.send_text("wmUser1", "ack", msgid="case-123-ack")
    assert first == {"errcode": 0, "errmsg": "ok", "msgid": "case-123-ack"}
    again = client.send_text("wmUser1", "ack", msgid="case-123-ack")
    assert again["errcode"] == errors.KF_DUPLICATE_MSGID
    assert client.send_text("wmUser1", "ack", msgid="bad id!")["errcode"] == errors.INVALID_PARAM
    assert [m["msgid"] for m in sim.seen_by("wmUser1")] == ["case-123-ack"]


def test_send_payload_validation(sim: WeComSimulator, client: Client, receiver: Receiver) -> None:
    sim.user_text("wmUser1", "hi")

    def send(msgtype: str, payload: Any) -> int:
        body = {"touser": "wmUser1", "open_kfid": OPEN_KFID, "msgtype": msgtype, msgtype: payload}
        return int(client.post("kf/send_msg", body)["errcode"])

    assert send("msgmenu", {"list": []}) == errors.KF_INVALID_MENU_COUNT
    assert send("msgmenu", {"list": [{"type": "bogus"}]}) == errors.KF_INVALID_MENU_TYPE
    assert send("msgmenu", {"list": [{"type": "click", "click": {"content": "x"}}]}) == 95010
    assert send("image", {"media_id": "nope"}) == errors.INVALID_MEDIA_ID
    assert send("text", {"content": ""}) == errors.EMPTY_CONTENT
    assert send("sticker", {}) == errors.INVALID_MSGTYPE
    assert send("link", {"title": "t", "url": "http://x"}) == errors.INVALID_PARAM
    escaped = json.dumps(
        {"touser": "wmUser1", "open_kfid": OPEN_KFID, "msgtype": "text", "text": {"content": "你"}}
    )
    res = client.http.post(
        sim.base_url + "kf/send_msg", params={"access_token": client.token}, data=escaped
    )
    assert res.json()["errcode"] == errors.INVALID_UNICODE_ESCAPE
    assert sim.seen_by("wmUser1") == []
    media_id = client.upload(TINY_PNG)
    assert send("image", {"media_id": media_id}) == 0
    menu = {
        "head_content": "请评价",
        "list": [
            {"type": "click", "click": {"id": "rate:1", "content": "满意"}},
            {"type": "click", "click": {"id": "rate:3", "content": "不满意"}},
        ],
    }
    assert send("msgmenu", menu) == 0
    assert [m["msgtype"] for m in sim.seen_by("wmUser1")] == ["image", "msgmenu"]
    sim.user_click_menu("wmUser1", "rate:1")
    clicked = client.sync(kf_token(receiver))["msg_list"][-1]
    assert clicked["text"] == {"content": "满意", "menu_id": "rate:1"}
    assert client.send_text("wmUser1", "谢谢")["errcode"] == 0


def test_welcome_code_single_use_and_20_seconds(sim: WeComSimulator, client: Client) -> None:
    def welcome(code: str) -> int:
        body = {"code": code, "msgtype": "text", "text": {"content": "您好，这里是连心桥"}}
        return int(client.post("kf/send_msg_on_event", body)["errcode"])

    code = sim.user_enter("wmUser1", "station_12")
    sim.advance(20)
    assert welcome(code) == 0
    assert welcome(code) == errors.KF_INVALID_EVENT_CODE
    assert sim.seen_by("wmUser1")[0]["via"] == "send_msg_on_event"
    assert sim.user_enter("wmUser1") == ""  # welcomed within 48 h
    late = sim.user_enter("wmUser2")
    sim.advance(21)
    assert welcome(late) == errors.KF_INVALID_EVENT_CODE
    sim.user_text("wmUser3", "hi")
    assert sim.user_enter("wmUser3") == ""  # wrote within 48 h
    sim.advance(48 * HOUR)
    assert sim.user_enter("wmUser1") != ""


# -- app messages and cards --------------------------------------------------------------------


def test_message_send_recipients(sim: WeComSimulator, client: Client) -> None:
    body = {"touser": "ZhangSan|Ghost", "msgtype": "text", "agentid": AGENT_ID}
    res = client.post("message/send", {**body, "text": {"content": "新工单 #123"}})
    assert res["errcode"] == 0 and res["invaliduser"] == "ghost" and res["msgid"]
    assert sim.app_messages_to("zhangsan")[0]["text"] == {"content": "新工单 #123"}
    ghosts = {**body, "touser": "ghost", "text": {"content": "x"}}
    assert client.post("message/send", ghosts)["errcode"] == errors.ALL_RECIPIENTS_INVALID
    wrong_agent = {**body, "agentid": 1, "text": {"content": "x"}}
    assert client.post("message/send", wrong_agent)["errcode"] == errors.INVALID_AGENTID
    md = {"touser": "lisi", "msgtype": "markdown", "agentid": AGENT_ID}
    assert client.post("message/send", {**md, "markdown": {"content": "**#123**"}})["errcode"] == 0


def test_silent_drop_beyond_30_per_minute(sim: WeComSimulator, client: Client) -> None:
    body = {"touser": "zhangsan", "msgtype": "text", "agentid": AGENT_ID}
    for i in range(31):
        res = client.post("message/send", {**body, "text": {"content": f"n{i}"}})
        assert res["errcode"] == 0  # the 31st "succeeds" too
    assert len(sim.app_messages_to("zhangsan")) == 30
    assert sim.app_messages_dropped("zhangsan") == 1
    sim.advance(60)
    client.refresh()
    assert client.post("message/send", {**body, "text": {"content": "later"}})["errcode"] == 0
    assert sim.app_messages_to("zhangsan")[-1]["text"]["content"] == "later"


def test_update_template_card_single_use(
    sim: WeComSimulator, client: Client, receiver: Receiver
) -> None:
    body = {"touser": "zhangsan|lisi", "msgtype": "template_card", "agentid": AGENT_ID}
    sent = client.post("message/send", {**body, "template_card": button_card("case-123")})
    assert sent["errcode"] == 0 and sent["response_code"]
    update = {
        "userids": ["zhangsan"],
        "agentid": AGENT_ID,
        "response_code": sent["response_code"],
        "button": {"replace_name": "已由张代表接单"},
    }
    assert client.post("message/update_template_card", update)["errcode"] == 0
    again = client.post("message/update_template_card", update)
    assert again["errcode"] == errors.INVALID_RESPONSE_CODE
    assert sim.app_messages_to("zhangsan")[0]["replace_name"] == "已由张代表接单"
    assert "replace_name" not in sim.app_messages_to("lisi")[0]

    sim.member_click_card("lisi", "case-123", "confirm:42")
    inner = receiver.inner()
    assert (inner["Event"], inner["EventKey"], inner["TaskId"]) == (
        "template_card_event",
        "confirm:42",
        "case-123",
    )
    assert inner["CardType"] == "button_interaction" and inner["FromUserName"] == "lisi"
    click_update = {**update, "userids": ["lisi"], "response_code": inner["ResponseCode"]}
    assert client.post("message/update_template_card", click_update)["errcode"] == 0
    assert sim.app_messages_to("lisi")[0]["updates"] == [
        {"button": {"replace_name": "已由张代表接单"}}
    ]
    with pytest.raises(ValueError):
        sim.member_click_card("lisi", "case-123", "no-such-key")
    sim.advance(24 * HOUR + 1)
    sim.member_click_card("zhangsan", "case-123", "cancel:42")
    stale = {**update, "response_code": receiver.inner()["ResponseCode"]}
    sim.advance(24 * HOUR + 1)
    client.refresh()
    assert client.post("message/update_template_card", stale)["errcode"] == 40035


def test_passive_replies(sim: WeComSimulator, receiver: Receiver) -> None:
    def reply(inner: str, args: Any) -> str:
        doc = xmltodict.parse(inner)["xml"]
        xml = (
            f"<xml><ToUserName>{doc['FromUserName']}</ToUserName>"
            f"<FromUserName>{CORP_ID}</FromUserName><CreateTime>1</CreateTime>"
            "<MsgType>text</MsgType><Content>收到</Content></xml>"
        )
        return str(receiver.crypto.encrypt_message(xml, args["nonce"], args["timestamp"]))

    receiver.replier = reply
    sim.member_text("zhangsan", "待办")
    assert receiver.inner()["Content"] == "待办"
    assert receiver.inner()["MsgId"].isdigit()
    assert sim.app_messages_to("zhangsan")[-1]["text"] == {"content": "收到"}
    assert sim.app_messages_to("zhangsan")[-1]["via"] == "passive"
    receiver.replier = lambda inner, args: "success"
    sim.member_text("zhangsan", "帮助")
    assert sim.deliveries[-1].reply_error is not None
    with pytest.raises(ValueError):
        sim.member_text("outsider", "hi")


# -- callbacks: retries, timeouts, raw ------------------------------------------------------------


def test_callback_retried_until_200_with_identical_request(
    sim: WeComSimulator, receiver: Receiver
) -> None:
    receiver.script.extend([(0.0, 500, ""), (0.0, 500, "")])
    sim.user_text("wmUser1", "hi")
    assert len(receiver.posts) == 3
    assert len({(p["query"], p["body"]) for p in receiver.posts}) == 1
    assert len({p["inner"] for p in receiver.posts}) == 1
    assert sim.deliveries[-1].statuses == [500, 500, 200]
    assert sim.deliveries[-1].ok


def test_callback_gives_up_after_three_retries(sim: WeComSimulator, receiver: Receiver) -> None:
    receiver.script.extend([(0.0, 502, "")] * 5)
    status = sim.send_callback_raw("<xml><MsgType>text</MsgType></xml>")
    assert status == 502
    assert len(receiver.posts) == 4  # the first attempt plus 3 retries


def test_callback_timeout_is_retried(sim: WeComSimulator, receiver: Receiver) -> None:
    sim.sender.timeout = 0.2
    receiver.script.append((0.5, 200, ""))
    assert sim.send_callback_raw("<xml><MsgType>event</MsgType></xml>") == 200
    assert sim.deliveries[-1].statuses == [0, 200]


def test_background_callbacks_and_flush(
    sim: WeComSimulator, client: Client, receiver: Receiver
) -> None:
    sim.wait_callbacks = False
    for i in range(3):
        sim.user_text("wmUser1", f"m{i}")
    sim.flush()
    assert len(receiver.posts) == 3
    assert len({receiver.inner(i)["Token"] for i in range(3)}) == 3
    assert len(client.sync(kf_token(receiver))["msg_list"]) == 3


# -- faults, media, control endpoints ------------------------------------------------------------


def test_fault_injection(sim: WeComSimulator, client: Client) -> None:
    sim.user_text("wmUser1", "hi")
    sim.inject("kf/send_msg", errors.FREQ_LIMIT, times=2)
    assert client.send_text("wmUser1", "a")["errcode"] == errors.FREQ_LIMIT
    assert client.send_text("wmUser1", "a")["errcode"] == errors.FREQ_LIMIT
    assert client.send_text("wmUser1", "a")["errcode"] == 0
    sim.inject("/cgi-bin/kf/send_msg", errors.SYSTEM_BUSY)
    assert client.send_text("wmUser1", "b")["errcode"] == -1
    sim.inject_http_status("gettoken", 502)
    params = {"corpid": CORP_ID, "corpsecret": SECRET}
    assert client.http.get(sim.base_url + "gettoken", params=params).status_code == 502
    assert client.gettoken()["errcode"] == 0
    sim.set_latency("kf/send_msg", 0.3)
    with pytest.raises(requests.Timeout):
        client.http.post(
            sim.base_url + "kf/send_msg", params={"access_token": client.token}, timeout=0.1
        )
    sim.set_latency("kf/send_msg", 0)
    assert [m["text"]["content"] for m in sim.seen_by("wmUser1")] == ["a"]
    assert sim.calls[-1][0] == "kf/send_msg"
    assert ("kf/send_msg", {}) not in sim.calls[:3]


def test_media_upload_get_and_expiry(sim: WeComSimulator, client: Client) -> None:
    media_id = client.upload(TINY_PNG)
    url = sim.base_url + "media/get"
    got = client.http.get(url, params={"access_token": client.token, "media_id": media_id})
    assert got.content == TINY_PNG
    assert "attachment" in got.headers["Content-Disposition"]
    tiny = client.http.post(
        sim.base_url + "media/upload",
        params={"access_token": client.token, "type": "image"},
        files={"media": ("x.png", b"12")},
    ).json()
    assert tiny["errcode"] == errors.INVALID_FILE_SIZE
    sim.advance(3 * 24 * HOUR + 1)
    client.refresh()
    gone = client.http.get(url, params={"access_token": client.token, "media_id": media_id})
    assert gone.json()["errcode"] == errors.INVALID_MEDIA_ID


def test_control_endpoints(sim: WeComSimulator, client: Client, receiver: Receiver) -> None:
    http = client.http
    res = http.post(sim.sim_url + "user/enter", json={"external_userid": "wmWeb", "scene": "s1"})
    assert res.json()["welcome_code"]
    http.post(sim.sim_url + "user/text", json={"external_userid": "wmWeb", "text": "路灯坏了"})
    png = base64.b64encode(TINY_PNG).decode()
    http.post(sim.sim_url + "user/image", json={"external_userid": "wmWeb", "data": png})
    loc = {"external_userid": "wmWeb", "lat": 34.6, "lng": 119.2, "name": "站"}
    http.post(sim.sim_url + "user/location", json=loc)
    sim.flush()
    msgs = client.sync(kf_token(receiver))["msg_list"]
    assert [m["msgtype"] for m in msgs] == ["event", "text", "image", "location"]
    assert client.send_text("wmWeb", "已收到")["errcode"] == 0
    seen = http.get(sim.sim_url + "user/wmWeb/seen").json()["messages"]
    assert [m["text"]["content"] for m in seen] == ["已收到"]
    bad = http.post(sim.sim_url + "user/text", json={"text": "no user"})
    assert bad.status_code == 400


def test_customer_batchget_and_contact_scene_rules(sim: WeComSimulator, client: Client) -> None:
    bad = client.post("kf/add_contact_way", {"open_kfid": OPEN_KFID, "scene": "有空格 no"})
    assert bad["errcode"] == errors.INVALID_PARAM
    wrong_kf = client.post("kf/add_contact_way", {"open_kfid": "wkOther", "scene": "s1"})
    assert wrong_kf["errcode"] == errors.KF_INVALID_OPEN_KFID
    sim.user_enter("wmUser1", sim.contact_url("s1") + "&scene_param=p1")
    got = client.post(
        "kf/customer/batchget",
        {"external_userid_list": ["wmUser1", "wmGhost"], "need_enter_session_context": 1},
    )
    (customer,) = got["customer_list"]
    assert customer["enter_session_context"] == {"scene": "s1", "scene_param": "p1"}
    assert got["invalid_external_userid"] == ["wmGhost"]


def test_acting_requires_a_started_simulator() -> None:
    idle = WeComSimulator(
        corp_id=CORP_ID,
        secret=SECRET,
        agent_id=AGENT_ID,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        open_kfid=OPEN_KFID,
    )
    with pytest.raises(RuntimeError):
        idle.user_text("wmUser1", "hi")
    assert idle.seen_by("wmUser1") == []
