"""The /sandbox page and its API: every action goes through a simulator, never to the database."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.app import create_app
from bot.config import WecomSettings
from bot.pipeline.context import handler_context
from bot.queue import PERIODIC_QUEUE
from bot.runtime import CLOCK_OFFSET_KEY, Runtime
from bot.sandbox import common
from bot.sandbox.common import SimEndpoints
from bot.sandbox.web import blueprint, clock_view, interleave, lead_label, sample_photo
from storage.models import Case, InboxItem, KeyValue
from tests.bot.sandbox.conftest import Sandbox
from tests.support import drain

VISITOR = "wmSandboxTest0001"


def _post(sandbox: Sandbox, path: str, body: dict[str, Any]) -> Any:
    res = sandbox.client.post(f"/sandbox/api/{path}", json=body)
    assert res.status_code == 200, res.get_json()
    return res.get_json()


def _poll(sandbox: Sandbox, **views: str) -> dict[str, Any]:
    res = sandbox.client.get("/sandbox/api/poll", query_string=views)
    assert res.status_code == 200
    data: dict[str, Any] = res.get_json()
    return data


def _wait(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---------------------------------------------------------------- mounting


def test_page_and_assets_are_served_in_sandbox_mode(sandbox: Sandbox) -> None:
    page = sandbox.client.get("/sandbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "快进一个工作日" in html and "当前身份" in html and 'lang="zh-CN"' in html
    for asset in ("sandbox.js", "sandbox.css"):
        assert sandbox.client.get(f"/sandbox/static/{asset}").status_code == 200


def test_nothing_is_mounted_outside_sandbox_mode(rt: Runtime) -> None:
    assert not rt.settings.sandbox_mode
    client = create_app(runtime=rt).test_client()
    for path in ("/sandbox", "/sandbox/api/config", "/sandbox/static/sandbox.js"):
        assert client.get(path).status_code == 404
    assert client.post("/sandbox/api/fast-forward").status_code == 404


def test_real_credentials_mean_no_sandbox(rt: Runtime) -> None:
    wecom = WecomSettings(corp_id="wwreal", secret=SecretStr("real-secret"))
    settings = rt.settings.model_copy(update={"sandbox": "auto", "wecom": wecom})
    assert not settings.sandbox_mode
    real = Runtime(settings, rt.engine, rt.sessions, rt.redis_url, rt.redis)
    client = create_app(runtime=real).test_client()
    assert client.get("/sandbox").status_code == 404
    assert client.get("/sandbox/api/poll").status_code == 404


def test_without_simulators_the_api_explains(rt: Runtime) -> None:
    from flask import Flask

    app = Flask("t")
    app.register_blueprint(blueprint(rt, endpoints=None))
    client = app.test_client()
    config = client.get("/sandbox/api/config").get_json()
    assert config["available"] is False
    res = client.post("/sandbox/api/wechat/text", json={"visitor": VISITOR, "text": "你好"})
    assert res.status_code == 503
    assert "lianxin run" in res.get_json()["error"]


# ---------------------------------------------------------------- directory for the page


def test_config_offers_qr_links_issued_by_the_simulator(sandbox: Sandbox) -> None:
    cfg = sandbox.client.get("/sandbox/api/config").get_json()
    assert cfg["available"] and cfg["visitor"].startswith("wm")
    stations = {s["code"]: s for s in cfg["stations"]}
    scene = stations["dh01"]["scenes"][0]
    assert scene["qr"].startswith("data:image/png;base64,")
    # the link decodes, in the simulator, to the station's scene (as WeChat would carry it)
    assert sandbox.handle.wecom.kf.decode_contact_url(scene["url"]) == ("st_dh01", "")
    plate = next(s for s in stations["gm01"]["scenes"] if s["plate"])
    assert sandbox.handle.wecom.kf.decode_contact_url(plate["url"]) == (
        "dp_gm_hubin_12",
        "东湖镇光明社区湖滨路12号",
    )
    people = {p["user_id"]: p for p in cfg["people"]}
    assert (
        people["dt_zhangming"]["role"] == "deputy" and "dh01" in people["dt_zhangming"]["stations"]
    )
    assert people["dt_wulei"]["role"] == "staff"
    liaison = people["sandbox-dept-qx_jtj"]
    assert liaison["role"] == "department" and liaison["group"] == "cid_qingxi_jtj=="
    kinds = {g["id"]: g["kind"] for g in cfg["groups"]}
    assert kinds["cid_donghu_station=="] == "station" and kinds["cid_qingxi_office=="] == "office"
    assert cfg["card_template"]["buttons"]
    templates = cfg["card_templates"]  # the page renders each card by its template id
    assert templates[common.DINGTALK_SOLICIT_TEMPLATE_ID]["buttons"][0]["id"] == "option"
    assert templates[common.DINGTALK_CARD_TEMPLATE_ID] == cfg["card_template"]
    assert len(cfg["places"]) == 3 and cfg["clock"]["label"]


# ---------------------------------------------------------------- the WeChat side


def test_journey_one_through_the_simulator(sandbox: Sandbox) -> None:
    cfg = sandbox.client.get("/sandbox/api/config").get_json()
    url = next(s for s in cfg["stations"] if s["code"] == "dh01")["scenes"][0]["url"]
    _post(sandbox, "wechat/enter", {"visitor": VISITOR, "url": url, "label": "扫码"})
    _post(sandbox, "wechat/text", {"visitor": VISITOR, "text": "小区门口路灯坏了一个月了"})
    _post(sandbox, "wechat/image", {"visitor": VISITOR})
    wecom = sandbox.handle.wecom
    wecom.flush()
    assert [d.statuses[-1] for d in wecom.deliveries][-3:] == [200, 200, 200]
    with sandbox.rt.sessions() as session:  # the callbacks reached lianxin's real gate
        assert (session.scalar(select(func.count(InboxItem.id))) or 0) >= 3
        assert session.scalar(select(func.count(Case.id))) == 0  # the page wrote no case
    drain(sandbox.rt)
    phone = _poll(sandbox, phone=VISITOR)["phone"]
    mine = [m for m in phone if m["from"] == "me"]
    assert [m["kind"] for m in mine] == ["enter", "text", "image"]
    assert mine[2]["image"].startswith("data:image/jpeg;base64,")
    texts = [m.get("text", {}).get("content", "") for m in phone if m["from"] == "kf"]
    assert any("编号 #" in t for t in texts), texts
    # the receipt comes after the problem it answers
    asked = next(i for i, m in enumerate(phone) if m.get("text") == "小区门口路灯坏了一个月了")
    acked = next(
        i
        for i, m in enumerate(phone)
        if m["from"] == "kf" and "编号 #" in (m.get("text") or {}).get("content", "")
    )
    assert asked < acked


def test_location_and_unknown_menu_item(sandbox: Sandbox) -> None:
    body = {"visitor": VISITOR, "lat": 29.08, "lng": 119.92, "name": "湖滨路", "address": "东湖镇"}
    _post(sandbox, "wechat/location", body)
    res = sandbox.client.post("/sandbox/api/wechat/menu", json={"visitor": VISITOR, "menu_id": "x"})
    assert res.status_code == 400 and "失效" in res.get_json()["error"]
    phone = _poll(sandbox, phone=VISITOR)["phone"]
    assert phone[-1]["kind"] == "location" and phone[-1]["text"] == "湖滨路"


def test_bad_requests_are_refused_politely(sandbox: Sandbox) -> None:
    client = sandbox.client
    assert client.post("/sandbox/api/wechat/text", json={"visitor": VISITOR}).status_code == 400
    bad_visitor = {"visitor": "../etc", "text": "x"}
    assert client.post("/sandbox/api/wechat/text", json=bad_visitor).status_code == 400
    res = client.post("/sandbox/api/wechat/text", data="nope", content_type="text/plain")
    assert res.status_code == 400 and "JSON" in res.get_json()["error"]
    bad_image = {"visitor": VISITOR, "data": "not base64!"}
    assert client.post("/sandbox/api/wechat/image", json=bad_image).status_code == 400
    far = {"visitor": VISITOR, "lat": 300, "lng": 0}
    assert client.post("/sandbox/api/wechat/location", json=far).status_code == 400


def test_a_real_photo_may_exceed_the_callback_body_limit(sandbox: Sandbox) -> None:
    picture = b"\xff\xd8\xff" + bytes(200 * 1024)  # larger than [web] max_body_bytes
    data = "data:image/jpeg;base64," + base64.b64encode(picture).decode()
    _post(sandbox, "wechat/image", {"visitor": VISITOR, "data": data})
    phone = _poll(sandbox, phone=VISITOR)["phone"]
    assert phone[-1]["kind"] == "image" and phone[-1]["image"].startswith("data:image/jpeg")


# ---------------------------------------------------------------- the DingTalk side


def test_group_and_private_text_go_through_the_simulator(sandbox: Sandbox) -> None:
    cid = "cid_donghu_station=="
    body = {"user_id": "dt_zhangming", "conversation_id": cid, "text": "待办"}
    assert _post(sandbox, "dingtalk/group-text", body)["messageId"]
    _post(sandbox, "dingtalk/private-text", {"user_id": "dt_zhangming", "text": "帮助"})
    data = _poll(sandbox, group=cid, me="dt_zhangming")
    assert data["group"]["title"] == "东湖镇人大代表联络站"
    assert [m["text"] for m in data["group"]["messages"]] == ["待办"]
    assert [m["text"] for m in data["me"]["messages"]] == ["帮助"]
    assert "stream_connections" in data["status"]
    outsider = {"user_id": "dt_liuyang", "conversation_id": cid, "text": "你好"}
    res = sandbox.client.post("/sandbox/api/dingtalk/group-text", json=outsider)
    assert res.status_code == 400 and "不在这个群里" in res.get_json()["error"]


def test_clicking_an_unknown_card_is_refused(sandbox: Sandbox) -> None:
    body = {"user_id": "dt_zhangming", "out_track_id": "nope", "params": {"action": "claim"}}
    res = sandbox.client.post("/sandbox/api/dingtalk/click", json=body)
    assert res.status_code == 400
    data = _poll(sandbox, group="no such group")
    assert "error" in data["group"]


# ---------------------------------------------------------------- the clock


def test_fast_forward_moves_the_service_clock_one_working_day(sandbox: Sandbox) -> None:
    rt = sandbox.rt
    before = rt.now()
    clock = _post(sandbox, "fast-forward", {})
    with rt.sessions() as session:
        row = session.get(KeyValue, CLOCK_OFFSET_KEY)
        assert row is not None
        calendar = handler_context(rt, session).calendar
    worked = calendar.working_seconds_between(before, rt.now())
    assert worked == pytest.approx(calendar.day_seconds, abs=5)
    assert float(row.value) >= calendar.day_seconds
    assert clock["offset_seconds"] == pytest.approx(float(row.value))
    assert rt.queue(PERIODIC_QUEUE).count == 2  # escalations (and rating expiry) run at once
    drain(rt)
    again = _post(sandbox, "fast-forward", {})
    assert again["offset_seconds"] > clock["offset_seconds"]
    assert sandbox.client.get("/sandbox/api/clock").get_json()["label"] == again["label"]


# ---------------------------------------------------------------- pure helpers


def test_interleave_places_own_messages_by_anchor() -> None:
    seen = [{"msgtype": "text", "n": 0}, {"msgtype": "text", "n": 1}]
    mine = [
        {"anchor": 0, "kind": "enter"},
        {"anchor": 1, "kind": "text", "text": "a"},
        {"anchor": 1, "kind": "text", "text": "b"},
        {"anchor": 5, "kind": "text", "text": "c"},
    ]
    out = interleave(seen, mine)
    assert [(m["from"], m.get("text", m.get("n"))) for m in out] == [
        ("me", None),
        ("kf", 0),
        ("me", "a"),
        ("me", "b"),
        ("kf", 1),
        ("me", "c"),
    ]


def test_clock_labels() -> None:
    from zoneinfo import ZoneInfo

    assert lead_label(0) == "与实际时间一致"
    assert lead_label(30 * 3600 + 120) == "比实际时间快 1天6小时"
    assert lead_label(600) == "比实际时间快 10分钟"
    view = clock_view(86400, ZoneInfo("Asia/Shanghai"))
    shown = datetime.fromisoformat(view["now"])
    assert abs((shown - datetime.now(UTC)) - timedelta(days=1)) < timedelta(seconds=5)
    assert "周" in view["label"]


def test_sample_photo_is_a_small_jpeg() -> None:
    photo = sample_photo()
    assert photo[:3] == b"\xff\xd8\xff" and len(photo) < 20_000


def test_endpoints_come_from_the_launcher_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LX_SANDBOX_WECOM_SIM", raising=False)
    assert SimEndpoints.from_env() is None
    monkeypatch.setenv("LX_SANDBOX_WECOM_SIM", "http://127.0.0.1:1/_sim")
    monkeypatch.setenv("LX_SANDBOX_DINGTALK_SIM", "http://127.0.0.1:2/_sim/")
    monkeypatch.setenv("LX_SANDBOX_VISITOR", "wmX")
    assert SimEndpoints.from_env() == SimEndpoints(
        "http://127.0.0.1:1/_sim/", "http://127.0.0.1:2/_sim/", "wmX"
    )


def test_message_times_are_service_times_with_dates(sandbox: Sandbox) -> None:
    cfg = sandbox.client.get("/sandbox/api/config").get_json()
    url = next(s for s in cfg["stations"] if s["code"] == "dh01")["scenes"][0]["url"]
    _post(sandbox, "wechat/enter", {"visitor": VISITOR, "url": url, "label": "扫码"})
    _post(sandbox, "wechat/text", {"visitor": VISITOR, "text": "小区门口路灯坏了一个月了"})
    sandbox.handle.wecom.flush()
    drain(sandbox.rt)
    before = [m["time_label"] for m in _poll(sandbox, phone=VISITOR)["phone"]]
    tz = ZoneInfo(sandbox.rt.settings.sla.timezone)
    today = datetime.now(tz)
    assert before and all(label.startswith(f"{today.month}月{today.day}日") for label in before)
    clock = _post(sandbox, "fast-forward", {})
    _post(sandbox, "wechat/text", {"visitor": VISITOR, "text": "补充：晚上七点以后全黑"})
    sandbox.handle.wecom.flush()
    drain(sandbox.rt)
    after = _poll(sandbox, phone=VISITOR)["phone"]
    assert [m["time_label"] for m in after[: len(before)]] == before  # earlier ones keep theirs
    later = next(m for m in after if m.get("text") == "补充：晚上七点以后全黑")
    assert later["time_label"] == clock["label"]  # sent after 快进: in the new service time
    group = _poll(sandbox, group="cid_donghu_station==")["group"]
    assert all("月" in m["time_label"] for m in group["messages"])


def test_reset_restores_the_example_county_and_the_clock(sandbox: Sandbox) -> None:
    from storage.models import Message, Station

    cfg = sandbox.client.get("/sandbox/api/config").get_json()
    url = next(s for s in cfg["stations"] if s["code"] == "dh01")["scenes"][0]["url"]
    _post(sandbox, "wechat/enter", {"visitor": VISITOR, "url": url, "label": "扫码"})
    _post(sandbox, "wechat/text", {"visitor": VISITOR, "text": "小区门口路灯坏了一个月了"})
    sandbox.handle.wecom.flush()
    drain(sandbox.rt)
    _post(sandbox, "fast-forward", {})
    with sandbox.rt.sessions.begin() as session:  # a demo renamed a station
        session.scalars(select(Station).where(Station.code == "dh01")).one().name = "改过的名字"
    assert _poll(sandbox, group="cid_donghu_station==")["group"]["messages"]  # the card
    done = _post(sandbox, "reset", {})
    assert (
        done["clock"]["offset_seconds"] == 0 and done["clock"]["offset_label"] == "与实际时间一致"
    )
    with sandbox.rt.sessions() as session:
        assert session.scalar(select(func.count(Case.id))) == 0
        assert session.scalar(select(func.count(Message.id))) == 0
        assert session.scalar(select(func.count(InboxItem.id))) == 0
        assert session.get(KeyValue, CLOCK_OFFSET_KEY) is None
        names = set(session.scalars(select(Station.name)))
    assert "东湖镇人大代表联络站" in names and "改过的名字" not in names
    assert _poll(sandbox, group="cid_donghu_station==")["group"]["messages"] == []
    assert [m for m in _poll(sandbox, phone=VISITOR)["phone"] if m["from"] == "me"] == []
    # and the next demo works: a new case gets a card again
    _post(sandbox, "wechat/enter", {"visitor": VISITOR + "b", "url": url, "label": "扫码"})
    _post(sandbox, "wechat/text", {"visitor": VISITOR + "b", "text": "楼道灯不亮"})
    sandbox.handle.wecom.flush()
    drain(sandbox.rt)
    with sandbox.rt.sessions() as session:
        assert session.scalar(select(func.count(Case.id))) == 1
    _wait(lambda: bool(_poll(sandbox, group="cid_donghu_station==")["group"]["messages"]))


def test_a_reset_empties_case_side_tables_only() -> None:
    from bot.sandbox.demo import demo_tables

    names = {t.name for t in demo_tables()}
    assert {"cases", "case_events", "messages", "ratings", "inbox", "outbox", "card_refs"} <= names
    assert {"notices", "notice_deliveries", "constituents"} <= names
    kept = {"regions", "stations", "deputies", "staff", "departments", "scene_codes", "kv"}
    assert not names & kept  # the directory and the key-value store stay


def test_a_wechat_photo_shows_in_the_dingtalk_group_pane(sandbox: Sandbox) -> None:
    cfg = sandbox.client.get("/sandbox/api/config").get_json()
    url = next(s for s in cfg["stations"] if s["code"] == "dh01")["scenes"][0]["url"]
    _post(sandbox, "wechat/enter", {"visitor": VISITOR, "url": url, "label": "扫码"})
    _post(sandbox, "wechat/text", {"visitor": VISITOR, "text": "井盖不见了"})
    _post(sandbox, "wechat/image", {"visitor": VISITOR})
    sandbox.handle.wecom.flush()

    def shown() -> list[dict[str, Any]]:
        drain(sandbox.rt)
        group = _poll(sandbox, group="cid_donghu_station==")["group"]
        return [m for m in group.get("messages", []) if m.get("msgtype") == "sampleImageMsg"]

    _wait(lambda: bool(shown()))
    media_id = shown()[0]["body"]["photoURL"]
    res = sandbox.client.get("/sandbox/api/dingtalk/media", query_string={"id": media_id})
    assert res.status_code == 200 and res.data == sample_photo()
    bad = sandbox.client.get("/sandbox/api/dingtalk/media", query_string={"id": "../etc"})
    assert bad.status_code == 400
    assert "sampleImageMsg" in sandbox.client.get("/sandbox/static/sandbox.js").get_data(True)
