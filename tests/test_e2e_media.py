"""End to end through both simulators: a WeChat photo reaches DingTalk, and the deputy is told
truthfully when an answer cannot be delivered (kf 95002) and when it finally is."""

from __future__ import annotations

from typing import Any

from bot.simulators.dingtalk import DingTalkSimulator
from bot.simulators.wecom.support import TINY_PNG
from tests.test_e2e import (  # noqa: F401  (fixtures)
    STATION_GROUP,
    ZHANG,
    Service,
    _latest_case,
    dingtalk,
    service,
    settings,
    wecom,
)

PHOTO = TINY_PNG + b"lianxin-e2e-photo"  # distinct bytes, still a PNG to any viewer


def _pictures(sim: DingTalkSimulator, entries: list[dict[str, Any]]) -> list[bytes | None]:
    shown = [
        e for e in entries if e.get("sender") == "robot" and e.get("msgtype") == "sampleImageMsg"
    ]
    return [sim.media(e["body"]["photoURL"]) for e in shown]


def test_a_wechat_photo_appears_under_the_dingtalk_card(service: Service) -> None:  # noqa: F811
    svc, wc, dt = service, service.wecom, service.dingtalk
    voter = "wm-e2e-photo"
    wc.user_enter(voter, scene="st_dh01")
    wc.user_text(voter, "人行道上的井盖不见了")
    wc.user_image(voter, PHOTO)
    wc.user_location(voter, 29.083, 119.921, name="湖滨小区")
    svc.settle()
    n = _latest_case(svc)
    # the picture, as an uploaded media id whose bytes are the photo, under the card
    group = dt.group_view(STATION_GROUP)
    assert _pictures(dt, group) == [PHOTO]
    kinds = [e["kind"] if e["kind"] == "card" else e.get("msgtype") for e in group]
    assert kinds.index("sampleImageMsg") > kinds.index("card")
    assert _pictures(dt, dt.private_view(ZHANG)) == [PHOTO]
    fields = svc.group_card(n)["cardParamMap"]["fields_md"]
    assert "图片 1 张" in fields and "湖滨小区（29.08300, 119.92100）" in fields
    seen = " ".join(svc.robot_texts(dt.private_view(ZHANG)))
    assert "工作台" not in seen and "位置：湖滨小区（29.08300, 119.92100）" in seen


def test_an_undeliverable_answer_is_reported_truthfully_then_delivered(service: Service) -> None:  # noqa: F811
    svc, wc, dt = service, service.wecom, service.dingtalk
    voter = "wm-e2e-silent"
    wc.user_enter(voter, scene="st_dh01")
    wc.user_text(voter, "楼道灯不亮")
    svc.settle()
    n = _latest_case(svc)
    dt.user_sends_private_text(ZHANG, f"#{n} 接单")
    svc.settle()
    # WeCom refuses the answer: the constituent has been silent for more than 48 hours (95002;
    # the simulator's clock cannot jump 49 h here, as lianxin's callback gate checks timestamps)
    wc.inject("kf/send_msg", 95002)
    dt.user_sends_private_text(ZHANG, f"#{n} 回复 已报修，明天上午修好")
    svc.settle()

    said = svc.robot_texts(dt.private_view(ZHANG))
    assert not any("已发送给群众" in t for t in said), said
    assert any(t.startswith(f"#{n} 的答复已提交，正在发送") for t in said)
    [held] = [t for t in said if "暂未送达" in t]
    assert "48 小时" in held and "工作人员" in held
    assert "答复待送达" in svc.group_card(n)["cardParamMap"]["fields_md"]
    assert not any("已报修" in t for t in svc.phone(voter))
    staff = [str(e) for e in dt.group_view(STATION_GROUP) if e.get("sender") == "robot"]
    assert any("暂缓" in t for t in staff), "station staff were not told"

    wc.user_text(voter, "灯还是不亮，什么时候来修？")  # she writes again: deliverable now
    svc.settle()
    assert any("已报修，明天上午修好" in t for t in svc.phone(voter))
    said = svc.robot_texts(dt.private_view(ZHANG))
    assert [t for t in said if "现已送达" in t] == [f"#{n} 的答复现已送达群众，谢谢。"]
    assert "答复已送达" in svc.group_card(n)["cardParamMap"]["fields_md"]
    svc.settle()
    said_again = svc.robot_texts(dt.private_view(ZHANG))
    assert len([t for t in said_again if "现已送达" in t]) == 1
