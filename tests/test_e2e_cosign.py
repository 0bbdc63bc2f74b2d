"""附议 end to end through both simulators: the same pothole from two people, merged, answered once.

Uses the service of tests/test_e2e.py (real encrypted WeCom callbacks, the real dingtalk-stream
SDK over a websocket, a real rq worker): assertions read what people saw in the simulators.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import Place, Rating, Region
from tests.test_e2e import (  # noqa: F401 - the fixtures of the whole-journey test
    MONDAY_10,
    STATION_GROUP,
    ZHANG,
    Service,
    _latest_case,
    dingtalk,
    service,
    settings,
    wecom,
)


def _gazetteer(svc: Service) -> None:
    with svc.rt.sessions.begin() as s:
        town = s.scalars(select(Region).where(Region.code == "donghu")).one()
        s.add(Place(name="湖滨路", kind="road", region_id=town.id, lat=29.0835, lng=119.9220))


def test_two_reports_merged_answered_once_rated_twice_then_a_recurrence(
    service: Service,  # noqa: F811
) -> None:
    svc, wecom, dingtalk = service, service.wecom, service.dingtalk  # noqa: F811
    _gazetteer(svc)
    first_voter, second_voter = "wm-pothole-1", "wm-pothole-2"
    wecom.user_enter(first_voter, scene="st_dh01")
    wecom.user_text(first_voter, "湖滨路上有个大坑，晚上骑电动车差点摔倒")
    svc.settle()
    first = _latest_case(svc)

    svc.set_clock(MONDAY_10 + timedelta(days=1))
    wecom.user_enter(second_voter, scene="st_dh01")
    wecom.user_text(second_voter, "那个湖滨路路面塌了一个坑 好危险[发怒]")
    svc.settle()
    second = _latest_case(svc)
    assert second != first and svc.case(second).similar_to_id == first

    # the second card offers 合并为附议 and says why
    card = svc.group_card(second)["cardParamMap"]
    assert card["btn_cosign"] == "true"
    assert f"疑似与 #{first} 同一问题" in card["fields_md"]

    # the deputy merges from the card
    ref = next(r for r in svc.cards_of(second) if f"group:{STATION_GROUP}" in r.space.split(";"))
    dingtalk.user_clicks(ZHANG, ref.out_track_id, {"action": "cosign", "case_id": str(second)})
    svc.settle()
    assert svc.case(second).status == "merged" and svc.case(second).merged_into_id == first
    assert any(f"与问题 #{first} 相同，已合并办理" in t for t in svc.phone(second_voter))
    assert f"附议 1（#{second}）" in svc.group_card(first)["cardParamMap"]["fields_md"]
    assert svc.group_card(second)["cardParamMap"]["btn_uncosign"] == "true"

    # one answer reaches both; both rate
    dingtalk.user_sends_private_text(ZHANG, f"#{first} 接单")
    svc.settle()
    dingtalk.user_sends_private_text(ZHANG, f"#{first} 回复 已安排本周修补湖滨路路面")
    svc.settle()
    assert any(f"答复（#{first}）：已安排本周修补湖滨路路面" in t for t in svc.phone(first_voter))
    assert any("已安排本周修补湖滨路路面" in t for t in svc.phone(second_voter))
    wecom.user_click_menu(first_voter, svc.menu_id(first_voter, "满意"))
    wecom.user_click_menu(second_voter, svc.menu_id(second_voter, "基本满意"))
    svc.settle()
    assert svc.case(first).status == "closed"
    with svc.rt.sessions() as s:
        ratings = {(r.case_id, r.answer_seq, r.value) for r in s.scalars(select(Rating))}
    assert ratings == {(first, 1, "satisfied"), (second, 1, "basic")}
    assert any("感谢" in t for t in svc.phone(second_voter)[-2:])

    # two months later the same pothole again: a new case, linked as 复发
    svc.set_clock(MONDAY_10 + timedelta(days=60))
    wecom.user_enter("wm-pothole-3", scene="st_dh01")
    wecom.user_text("wm-pothole-3", "湖滨路又出现一个大坑了，车子开过去很颠")
    svc.settle()
    third = _latest_case(svc)
    case = svc.case(third)
    assert third not in (first, second) and case.status != "merged"
    assert case.recurrence_of_id == first and case.similar_to_id is None
    card = svc.group_card(third)["cardParamMap"]
    assert f"复发：#{first}" in card["fields_md"] and card["btn_cosign"] == "false"


def test_a_cosigners_held_copy_is_counted_and_reported_once_it_arrives(
    service: Service,  # noqa: F811
) -> None:
    svc, wecom, dingtalk = service, service.wecom, service.dingtalk  # noqa: F811
    _gazetteer(svc)
    first_voter, second_voter = "wm-copy-1", "wm-copy-2"
    wecom.user_enter(first_voter, scene="st_dh01")
    wecom.user_text(first_voter, "湖滨路上有个大坑，晚上骑电动车差点摔倒")
    svc.settle()
    first = _latest_case(svc)
    svc.set_clock(MONDAY_10 + timedelta(days=1))
    wecom.user_enter(second_voter, scene="st_dh01")
    wecom.user_text(second_voter, "那个湖滨路路面塌了一个坑 好危险[发怒]")
    svc.settle()
    second = _latest_case(svc)
    dingtalk.user_sends_private_text(ZHANG, f"#{second} 附议 #{first}")
    dingtalk.user_sends_private_text(ZHANG, f"#{first} 接单")
    svc.settle()
    assert svc.case(second).merged_into_id == first

    # the co-signer has been silent for more than 48 hours: WeCom refuses their copy (95002)
    wecom.close_window(second_voter)
    dingtalk.user_sends_private_text(ZHANG, f"#{first} 回复 已安排本周修补湖滨路路面")
    svc.settle()
    assert any("已安排本周修补湖滨路路面" in t for t in svc.phone(first_voter))
    assert not any("已安排本周修补湖滨路路面" in t for t in svc.phone(second_voter))
    said = svc.robot_texts(dingtalk.private_view(ZHANG))
    [held] = [t for t in said if "暂未送达附议群众" in t]
    assert f"（#{second}）" in held and "48 小时" in held
    assert f"答复已送达 2 位群众中的 1 位；1 位暂缓（#{second}" in held
    fields = svc.group_card(first)["cardParamMap"]["fields_md"]
    assert "答复已送达 2 位群众中的 1 位；1 位暂缓" in fields

    wecom.user_text(second_voter, "什么时候来修啊")  # she writes again: the window opens
    svc.settle()
    assert any("已安排本周修补湖滨路路面" in t for t in svc.phone(second_voter))
    said = svc.robot_texts(dingtalk.private_view(ZHANG))
    delivered = [t for t in said if "现已送达附议群众" in t]
    assert delivered == [
        f"#{first} 的答复现已送达附议群众（#{second}）。目前答复已送达 2 位群众中的 2 位。"
    ]
    assert "答复已送达 2 位群众中的 2 位" in svc.group_card(first)["cardParamMap"]["fields_md"]
    svc.settle()
    again = svc.robot_texts(dingtalk.private_view(ZHANG))
    assert len([t for t in again if "现已送达附议群众" in t]) == 1
