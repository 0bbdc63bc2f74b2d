"""The sandbox launcher: simulators on loopback, the example directory, the children's settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from websockets.sync.client import connect

from bot.config import Settings
from bot.sandbox import common
from bot.sandbox.launch import (
    EXAMPLE_DIRECTORY,
    ensure_directory,
    loopback_host,
    start_sandbox,
    sync_directory,
)
from storage.directory import import_directory
from storage.models import Station
from tests.bot.sandbox.conftest import Sandbox, child_settings


def test_children_settings_point_at_the_simulators(sandbox: Sandbox, settings: Settings) -> None:
    env = sandbox.handle.env
    child = child_settings(settings, env)
    assert child.sandbox_mode  # credentials are set, yet the children stay in sandbox mode
    assert child.wecom.configured and child.dingtalk.configured
    assert child.wecom.api_base == sandbox.handle.wecom.base_url
    assert child.wecom.encoding_aes_key.get_secret_value() == common.WECOM_AES_KEY
    assert len(common.WECOM_AES_KEY) == 43
    assert child.dingtalk.openapi_endpoint == sandbox.handle.dingtalk.endpoint
    assert child.dingtalk.card_template_id
    assert child.dingtalk.solicit_card_template_id  # 意见征集 answered on the card
    for url in (env[common.ENV_WECOM_SIM], env[common.ENV_DINGTALK_SIM], child.wecom.api_base):
        assert url.startswith("http://127.0.0.1:")
    assert env[common.ENV_VISITOR].startswith("wm")
    # the page's variables are not settings keys (an unknown key would be a config error)
    assert not any(k.startswith("LIANXIN_") for k in (common.ENV_WECOM_SIM, common.ENV_VISITOR))


def test_callbacks_go_to_the_local_web_port(sandbox: Sandbox) -> None:
    handle = sandbox.handle
    port = handle.url.split(":")[2].split("/")[0]
    assert handle.wecom.callback_url == f"http://127.0.0.1:{port}/wecom/callback"
    assert handle.url == f"http://127.0.0.1:{port}/sandbox"
    # URL verification (what the launcher does once the page answers) passes the real gate
    assert handle.wecom.verify_url()


def test_ready_line_once_the_page_answers_and_stream_connects(sandbox: Sandbox) -> None:
    handle = sandbox.handle
    assert _wait(lambda: handle.wecom.last_verification is not None)  # the console's 保存
    assert sandbox.lines == []  # DingTalk has no Stream connection yet
    body = {
        "clientId": common.DINGTALK_CLIENT_ID,
        "clientSecret": common.DINGTALK_CLIENT_SECRET,
        "ua": "sandbox-test",
        "subscriptions": [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}],
    }
    opened = requests.post(
        handle.dingtalk.endpoint + "/v1.0/gateway/connections/open",
        json=body,
        headers={"Accept": "application/json"},
        timeout=5,
    ).json()
    with connect(f"{opened['endpoint']}?ticket={opened['ticket']}"):
        assert _wait(lambda: sandbox.lines != [])
    assert sandbox.lines == [f"lianxin sandbox is ready: {handle.url}"]


def _wait(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_empty_database_gets_the_example_directory(sandbox: Sandbox) -> None:
    with sandbox.rt.sessions() as session:
        names = set(session.scalars(select(Station.name)))
    assert "东湖镇人大代表联络站" in names
    assert ensure_directory(sandbox.rt.sessions, EXAMPLE_DIRECTORY) is False  # only when empty


def test_directory_people_and_groups_exist_in_dingtalk(sandbox: Sandbox) -> None:
    state = sandbox.handle.dingtalk.state()
    users = {u["user_id"]: u["nick"] for u in state["users"]}
    assert users["dt_zhangming"] == "张明"
    assert users["dt_zhouxiaoyan"] == "周晓燕"
    groups = {g["conversation_id"]: g for g in state["groups"]}
    station = groups["cid_donghu_station=="]
    assert station["title"] == "东湖镇人大代表联络站"
    # deputies of the station, its own staff and the county office staff above it
    assert set(station["members"]) == {
        "dt_zhangming",
        "dt_lifang",
        "dt_wangjianguo",
        "dt_wulei",
        "dt_zhouxiaoyan",
    }
    assert set(groups["cid_xishan_station=="]["members"]) == {
        "dt_liuyang",
        "dt_zhaolihua",
        "dt_zhouxiaoyan",
    }
    office = groups["cid_qingxi_office=="]
    assert set(office["members"]) == {"dt_zhouxiaoyan", "dt_wulei"}
    # departments get a liaison the page can play (the directory has no department people)
    assert groups["cid_qingxi_zjj=="]["members"] == ["sandbox-dept-qx_zjj"]
    assert users["sandbox-dept-qx_zjj"] == "青溪县住房和城乡建设局联络员"


def test_a_later_import_reaches_the_simulator(sandbox: Sandbox, tmp_path: Path) -> None:
    extra = tmp_path / "more.yaml"
    extra.write_text(
        "stations:\n"
        "  - code: nh01\n    name: 南湖街道代表联络站\n    region: donghu\n"
        "    dingtalk_group: cid_nanhu_station==\n"
        "deputies:\n"
        "  - code: d009\n    name: 孙悦\n    dingtalk_user_id: dt_sunyue\n"
        "    stations: [nh01]\n",
        encoding="utf-8",
    )
    with sandbox.rt.sessions.begin() as session:
        import_directory(session, extra)
    sync_directory(sandbox.rt.sessions, sandbox.handle.dingtalk, None)
    state = sandbox.handle.dingtalk.state()
    groups = {g["conversation_id"]: g for g in state["groups"]}
    assert "dt_sunyue" in groups["cid_nanhu_station=="]["members"]


def test_stop_shuts_both_simulators(settings: Settings, sessions: sessionmaker[Session]) -> None:
    handle = start_sandbox(settings, host="0.0.0.0", port=18999, announce=lambda _: None)
    wecom_state = handle.env[common.ENV_WECOM_SIM] + "state"
    assert requests.get(wecom_state, timeout=5).status_code == 200
    assert handle.wecom.callback_url == "http://127.0.0.1:18999/wecom/callback"
    from bot.sandbox import published

    running = published.sandbox_settings(settings)  # what `lianxin wecom qrcode` then uses
    assert running is not None and running.wecom.api_base == handle.wecom.base_url
    handle.stop()
    assert published.running_env(settings) is None
    with pytest.raises(requests.ConnectionError):
        requests.get(wecom_state, timeout=5)
    with pytest.raises(RuntimeError):
        _ = handle.dingtalk.endpoint
    handle.stop()  # idempotent


def test_a_fixed_port_is_required(settings: Settings) -> None:
    with pytest.raises(ValueError, match="fixed web port"):
        start_sandbox(settings, host="127.0.0.1", port=0)


def test_missing_directory_file_leaves_the_database_empty(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    assert ensure_directory(sessions, tmp_path / "nope.yaml") is False
    with sessions() as session:
        assert session.scalar(select(func.count(Station.id))) == 0


def test_loopback_host() -> None:
    assert loopback_host("0.0.0.0") == "127.0.0.1"
    assert loopback_host("") == "127.0.0.1"
    assert loopback_host("127.0.0.1") == "127.0.0.1"
    assert loopback_host("192.0.2.7") == "192.0.2.7"
