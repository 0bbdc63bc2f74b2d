"""The platform-neutral card view: title, fields, holder line and the buttons valid per status."""

from __future__ import annotations

import pytest

from handlers.cards import CardButton, case_card
from tests.handlers.world import World


def _card(world: World, n: int):  # type: ignore[no-untyped-def]
    with world.sessions() as session:
        return case_card(session, n, world.now)


def test_card_of_a_new_assigned_case(world: World) -> None:
    world.enter("p88", scene_param="幸福小区3栋2单元")
    world.say("小区门口路灯坏了一个月了，晚上出门很不方便")
    n = world.last_case_id()
    card = _card(world, n)
    assert card.title == f"#{n} 小区门口路灯坏了一个月了，晚上出门很不方…"
    fields = dict(card.fields)
    assert fields["联络站"] == "城南联络站"
    assert fields["反映人"] == "群众（…lice）"  # wm-alice, masked
    assert fields["反映时间"] == "11月16日 10:00"
    assert fields["位置"] == "幸福小区3栋2单元"
    assert fields["状态"] == "待接单"
    assert fields["承办人"] == "张代表"
    assert fields["办理时限"] == "接单时限：11月17日 10:00"
    assert card.holder_line == "待张代表接单"
    assert card.buttons == (
        CardButton("claim", "接单", f"#{n} 接单"),
        CardButton("reject", "不予受理", f"#{n} 不予受理"),
        CardButton("categorise", "更正分类", f"#{n} 分类"),  # every categorised case
    )


def test_card_after_claim_shows_the_holder_and_handling_buttons(world: World) -> None:
    world.enter("s1")
    world.say("路灯坏了")
    n = world.last_case_id()
    world.tick(minutes=42)
    world.click("u-li", "claim", n)
    card = _card(world, n)
    assert card.holder_line == "已由李代表接单 10:42"
    assert [b.action for b in card.buttons] == [
        *("reply", "transfer", "ask_info", "reject", "categorise")
    ]
    assert card.buttons[0] == ("reply", "回复", f"#{n} 回复")
    world.tick(days=1)
    assert _card(world, n).holder_line == "已由李代表接单 11月16日 10:42"  # another day: with date
    world.say(kind="image", media_path="/m/1.jpg")
    assert dict(_card(world, n).fields)["附件"] == "图片 1 张（见卡片下方）"


@pytest.mark.parametrize(
    ("steps", "buttons"),
    [
        (["#{n} 补充 哪一栋？"], ["reply", "reject", "categorise"]),
        (["#{n} 转办 住建局"], ["reply", "categorise"]),
        (["#{n} 回复 好的"], ["categorise"]),  # a category may be corrected at any time
        (["#{n} 不予受理 重复"], ["categorise"]),
    ],
)
def test_buttons_follow_the_status(world: World, steps: list[str], buttons: list[str]) -> None:
    world.enter("s1")
    world.say("路灯坏了")
    n = world.last_case_id()
    world.text("u-zhang", f"#{n} 接单")
    for step in steps:
        world.text("u-zhang", step.format(n=n))
    assert [b.action for b in _card(world, n).buttons] == buttons


def test_as_text_for_the_show_command(world: World) -> None:
    world.say("路灯坏了")  # no station yet
    n = world.last_case_id()
    text = _card(world, n).as_text()
    assert text.splitlines()[0] == f"#{n} 路灯坏了"
    assert "联络站：待确定" in text and "承办人：待分派" in text
    with world.sessions() as session, pytest.raises(LookupError):
        case_card(session, 987654)
