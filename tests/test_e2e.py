"""The whole journey through both simulators: constituent in WeCom, deputies and staff in DingTalk.

Everything goes through the platform edges as in production: the WeCom simulator sends real
encrypted callbacks to lianxin's real web app and serves kf/sync_msg; the real dingtalk-stream
SDK (our subclass) holds a websocket to the DingTalk simulator; jobs run on a real rq worker (in
this process). Assertions read what each person *saw* in the simulators.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.config import DingtalkSettings, Settings, WecomSettings
from bot.dingtalk.stream import StreamOptions
from bot.pipeline.periodic import run_escalations
from bot.pipeline.sweeper import sweep
from bot.runtime import CLOCK_OFFSET_KEY, Runtime
from bot.sandbox.common import department_user_id
from bot.sandbox.launch import ensure_directory, sync_directory
from bot.simulators.dingtalk import DingTalkSimulator
from bot.simulators.wecom import WeComSimulator
from storage.models import CardRef, Case, InboxItem, KeyValue, OutboxItem
from storage.timeutil import utcnow
from tests.support import StreamThread, drain, serve

ROOT = Path(__file__).resolve().parents[1]
BEIJING = ZoneInfo("Asia/Shanghai")
CORP, SECRET, TOKEN = "wwe2e0001", "e2e-secret", "e2eToken"
AES_KEY = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"
KFID = "wkE2eKf"
APP_KEY, APP_SECRET = "dinge2e", "e2e-app-secret"
STATION_GROUP, OFFICE_GROUP = "cid_donghu_station==", "cid_qingxi_office=="
ZHANG, LI, WU, LIU = "dt_zhangming", "dt_lifang", "dt_wulei", "dt_liuyang"
FAST = StreamOptions(
    ping_interval=0.5,
    watchdog=5.0,
    backoff_base=0.05,
    backoff_max=0.3,
    open_timeout=2.0,
    drain_timeout=1.0,
)
# Monday 2026-11-23 10:00 in Beijing: a working day on which 张明 is on duty at 东湖镇 (dh01)
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=BEIJING)


@pytest.fixture()
def wecom() -> Iterator[WeComSimulator]:
    sim = WeComSimulator(
        corp_id=CORP,
        secret=SECRET,
        agent_id=1000002,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        open_kfid=KFID,
        wait_callbacks=True,
    )
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture()
def dingtalk() -> Iterator[DingTalkSimulator]:
    sim = DingTalkSimulator(client_id=APP_KEY, client_secret=APP_SECRET, seed=3, tick_interval=3600)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture()
def settings(settings: Settings, wecom: WeComSimulator, dingtalk: DingTalkSimulator) -> Settings:
    return settings.model_copy(
        update={
            "wecom": WecomSettings(
                corp_id=CORP,
                secret=SecretStr(SECRET),
                agent_id=1000002,
                token=SecretStr(TOKEN),
                encoding_aes_key=SecretStr(AES_KEY),
                open_kfid=KFID,
                api_base=wecom.base_url,
                timeout_seconds=3,
            ),
            "dingtalk": DingtalkSettings(
                client_id=APP_KEY,
                client_secret=SecretStr(APP_SECRET),
                openapi_endpoint=dingtalk.endpoint,
                card_template_id="lianxin_case_card.schema",
                timeout_seconds=3,
                qps_limit=19,
            ),
        }
    )


class Service:
    """lianxin wired to both simulators; `settle()` runs jobs until nothing is left to do."""

    def __init__(self, rt: Runtime, wecom: WeComSimulator, dingtalk: DingTalkSimulator):
        self.rt, self.wecom, self.dingtalk = rt, wecom, dingtalk

    def set_clock(self, when: datetime) -> None:
        """Move the service clock (not the platforms') to `when`, as the sandbox's 快进 does."""
        offset = (when - utcnow()).total_seconds()
        with self.rt.sessions.begin() as s:
            row = s.get(KeyValue, CLOCK_OFFSET_KEY)
            if row is None:
                s.add(KeyValue(key=CLOCK_OFFSET_KEY, value=str(offset)))
            else:
                row.value = str(offset)

    def settle(self, timeout: float = 20.0) -> None:
        """Run queued jobs (and the sweeper) until inbox and outbox are quiet."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            drain(self.rt)
            with self.rt.sessions() as s:
                busy = s.scalar(
                    select(InboxItem.id).where(InboxItem.status == "pending")
                ) or s.scalar(
                    select(OutboxItem.id).where(OutboxItem.status.in_(("pending", "sending")))
                )
            if not busy:
                time.sleep(0.15)  # a stream frame may still be on its way into the inbox
                drain(self.rt)
                with self.rt.sessions() as s:
                    if not s.scalar(select(InboxItem.id).where(InboxItem.status == "pending")):
                        return
            time.sleep(0.05)
            sweep()
        with self.rt.sessions() as s:
            stuck = [
                (o.id, o.kind, o.purpose, o.status, o.last_error, str(o.payload.get("text"))[:20])
                for o in s.scalars(select(OutboxItem).where(OutboxItem.kind == "to_constituent"))
            ]
            stuck += [
                (i.id, i.source, i.status, i.attempts, i.last_error)
                for i in s.scalars(select(InboxItem).where(InboxItem.status == "pending"))
            ]
        raise AssertionError(f"the service did not settle: {stuck}")

    # what people saw ----------------------------------------------------------------------
    def phone(self, user: str) -> list[str]:
        """The constituent's WeChat: texts, and menus as 'head | item / item'."""
        shown = []
        for m in self.wecom.seen_by(user):
            if m["msgtype"] == "text":
                shown.append(m["text"]["content"])
            elif m["msgtype"] == "msgmenu":
                items = [i["click"]["content"] for i in m["msgmenu"]["list"] if "click" in i]
                shown.append(m["msgmenu"].get("head_content", "") + " | " + " / ".join(items))
        return shown

    def menu_id(self, user: str, label: str) -> str:
        for m in reversed(self.wecom.seen_by(user)):
            for item in m.get("msgmenu", {}).get("list", []):
                if item.get("click", {}).get("content") == label:
                    return str(item["click"]["id"])
        raise AssertionError(f"{user} was never offered {label!r}")

    def robot_texts(self, entries: list[dict[str, Any]]) -> list[str]:
        out = []
        for e in entries:
            if e.get("sender") != "robot" or e["kind"] == "card":
                continue
            body = e.get("body") or {}
            out.append(e.get("text") or body.get("text") or body.get("content") or str(body))
        return out

    def cards_of(self, case_id: int) -> list[CardRef]:
        with self.rt.sessions() as s:
            return list(s.scalars(select(CardRef).where(CardRef.case_id == case_id)))

    def group_card(self, case_id: int, group: str = STATION_GROUP) -> dict[str, Any]:
        [ref] = [r for r in self.cards_of(case_id) if f"group:{group}" in r.space.split(";")]
        return self.dingtalk.card(ref.out_track_id)

    def case(self, case_id: int) -> Case:
        with self.rt.sessions() as s:
            case = s.get(Case, case_id)
            assert case is not None
            return case


@pytest.fixture()
def service(rt: Runtime, wecom: WeComSimulator, dingtalk: DingTalkSimulator) -> Iterator[Service]:
    ensure_directory(rt.sessions, ROOT / "examples" / "directory.yaml")
    sync_directory(rt.sessions, dingtalk, None)
    with serve(rt) as callback_url:
        wecom.callback_url = callback_url
        assert wecom.verify_url() == wecom.last_verification[0]  # WeCom's URL check passes
        stream = StreamThread(rt, FAST)
        assert dingtalk.wait_connections(1)
        svc = Service(rt, wecom, dingtalk)
        svc.set_clock(MONDAY_10)
        try:
            yield svc
        finally:
            stream.stop()


def _latest_case(svc: Service) -> int:
    with svc.rt.sessions() as s:
        return int(s.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)))


def test_whole_journey(service: Service):
    svc, wecom, dingtalk = service, service.wecom, service.dingtalk
    voter = "wm-e2e-voter"

    # 1. intake from the station's QR code: text + photo + location, one case, one receipt
    wecom.user_enter(voter, scene="st_dh01")
    wecom.user_text(voter, "小区门口路灯坏了一个月了")
    wecom.user_image(voter)
    wecom.user_location(voter, 29.083, 119.921, name="湖滨小区")
    svc.settle()
    n = _latest_case(svc)
    receipt = [t for t in svc.phone(voter) if f"#{n}" in t]
    assert len(receipt) == 1 and "已收到" in receipt[0] and "东湖镇人大代表联络站" in receipt[0]
    assert "张代表" in receipt[0]
    case = svc.case(n)
    assert case.status == "assigned" and case.lat is not None

    # 2. routing: the card is in the station group, @-mentioning 张明 (on duty on Mondays)
    [group_entry] = [e for e in dingtalk.group_view(STATION_GROUP) if e["kind"] == "card"]
    assert ZHANG in str(group_entry)
    card = svc.group_card(n)["cardParamMap"]
    assert card["status"] == "assigned" and card["btn_claim"] == "true"

    # 3. two deputies of the station press 接单 at the same instant: exactly one holds the case
    ref = next(r for r in svc.cards_of(n) if r.space.startswith("group:"))
    barrier = threading.Barrier(2)

    def click(user: str) -> None:
        barrier.wait()
        dingtalk.user_clicks(user, ref.out_track_id, {"action": "claim", "case_id": str(n)})

    threads = [threading.Thread(target=click, args=(u,)) for u in (ZHANG, LI)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    svc.settle()
    holder = svc.case(n).assignee_deputy_id
    with svc.rt.sessions() as s:
        from storage.models import Deputy

        holder_name = s.get(Deputy, holder).name
    for r in svc.cards_of(n):  # everybody's card says who holds it
        shown = dingtalk.card(r.out_track_id)["cardParamMap"]
        assert f"已由{holder_name[0]}代表接单" in shown["holder_line"] and shown["busy"] == ""
    holder_id = ZHANG if holder_name == "张明" else LI
    loser_id = LI if holder_id == ZHANG else ZHANG
    assert any("接单" in t for t in svc.robot_texts(dingtalk.private_view(loser_id)))

    # a deputy of another station cannot act; nothing changes
    dingtalk.user_sends_private_text(LIU, f"#{n} 回复 我来处理")
    svc.settle()
    assert svc.case(n).status == "accepted"
    assert svc.robot_texts(dingtalk.private_view(LIU)), "the outsider got no explanation"

    # 4. the answer reaches WeChat with a rating menu; 不满意 reopens to the same handler
    dingtalk.user_sends_private_text(holder_id, f"#{n} 回复 已联系城管，本周内修复")
    svc.settle()
    phone = svc.phone(voter)
    assert any(
        t.startswith(f"{holder_name[0]}代表答复（#{n}）：已联系城管，本周内修复") for t in phone
    )
    assert "满意 / 基本满意 / 不满意" in phone[-1]
    wecom.user_click_menu(voter, svc.menu_id(voter, "不满意"))
    svc.settle()
    wecom.user_text(voter, "路灯还是不亮")
    svc.settle()
    case = svc.case(n)
    assert case.status == "reopened" and case.rework_count == 1
    assert case.assignee_deputy_id == holder
    staff_saw = svc.robot_texts(dingtalk.private_view(WU)) + [
        str(e) for e in dingtalk.group_view(STATION_GROUP) if e.get("sender") == "robot"
    ]
    assert any("不满意" in t for t in staff_saw), "station staff were not told"

    # second answer, 满意 closes; a second rating for the same answer changes nothing
    dingtalk.user_sends_private_text(holder_id, f"#{n} 回复 已更换灯泡，今晚亮灯")
    svc.settle()
    ok_id = svc.menu_id(voter, "满意")
    wecom.user_click_menu(voter, ok_id)
    svc.settle()
    assert svc.case(n).status == "closed" and svc.case(n).rating == "satisfied"
    assert any("感谢" in t for t in svc.phone(voter)[-2:])
    wecom.user_click_menu(voter, ok_id)
    svc.settle()
    assert svc.case(n).status == "closed"

    # 5. a new problem; transfer to a department; the department's answer reaches WeChat
    wecom.user_text(voter, "新问题")
    wecom.user_text(voter, "湖滨路人行道砖块松动，老人容易绊倒")
    svc.settle()
    m = _latest_case(svc)
    assert m != n
    dingtalk.user_sends_private_text(ZHANG, f"#{m} 接单")
    svc.settle()  # two commands typed a second apart, not in the same millisecond
    dingtalk.user_sends_private_text(ZHANG, f"#{m} 转办 住建局 请核实修复")
    svc.settle()
    assert svc.case(m).status == "transferred", svc.robot_texts(dingtalk.private_view(ZHANG))[-3:]
    dept_group = "cid_qingxi_zjj=="
    assert svc.group_card(m, dept_group)["cardParamMap"]["status"] == "transferred"
    liaison = department_user_id("qx_zjj")  # the department's person in its DingTalk group
    dingtalk.user_sends_group_text(liaison, dept_group, f"#{m} 回复 已安排本周修复人行道")
    svc.settle()
    assert any(t.startswith(f"青溪县住房和城乡建设局答复（#{m}）") for t in svc.phone(voter))
    assert svc.case(m).status == "replied"


def test_escalation_ladder_in_working_time(service: Service):
    svc, wecom, dingtalk = service, service.wecom, service.dingtalk
    wecom.user_enter("wm-e2e-late", scene="st_dh01")
    wecom.user_text("wm-e2e-late", "菜市场门口的排水沟堵了，一下雨就积水")
    svc.settle()
    n = _latest_case(svc)
    claim_due = svc.case(n).claim_due_at
    assert claim_due is not None
    # opened Monday ~10:00, due one working day later (the clock moved a little since)
    expected = datetime(2026, 11, 24, 10, 0, tzinfo=BEIJING)
    assert abs((claim_due - expected).total_seconds()) < 60

    def run_ladder() -> None:
        for _ in range(3):
            run_escalations()
            svc.settle()

    svc.set_clock(datetime(2026, 11, 24, 9, 59, tzinfo=BEIJING))  # not yet due
    run_ladder()
    assert svc.case(n).escalation_level == 0
    svc.set_clock(datetime(2026, 11, 25, 12, 0, tzinfo=BEIJING))  # all three steps are due
    run_ladder()
    assert svc.case(n).escalation_level == 3
    assert any(f"#{n}" in t for t in svc.robot_texts(dingtalk.private_view(ZHANG)))
    group_alerts = [
        e
        for e in dingtalk.group_view(STATION_GROUP)
        if e.get("sender") == "robot" and e["kind"] != "card" and f"#{n}" in str(e)
    ]
    assert group_alerts and (WU in str(group_alerts) or "吴" in str(group_alerts))
    office = [e for e in dingtalk.group_view(OFFICE_GROUP) if f"#{n}" in str(e)]
    assert len(office) == 1
    run_ladder()  # each step exactly once
    assert len([e for e in dingtalk.group_view(OFFICE_GROUP) if f"#{n}" in str(e)]) == 1
    with svc.rt.sessions() as s:
        from handlers.caselog import events_of

        steps = [e.payload.get("step") for e in events_of(s, n) if e.kind == "escalated"]
    assert steps == [1, 2, 3]
