"""Household addresses versus buildings, floors, shops and public places."""

from __future__ import annotations

import pytest

from tests.handlers.privacy.helpers import found


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("住址：阳光花园3幢2单元501室", "阳光花园3幢2单元501室"),
        ("东方名苑5栋602楼上漏水", "东方名苑5栋602"),
        ("住在翠苑一区8号楼3单元301室的老人", "翠苑一区8号楼3单元301室"),
        ("我家是金都花园12-2-601，", "金都花园12-2-601"),
        ("紫金公寓A座1203室的业主", "紫金公寓A座1203室"),
        ("我住新华路18弄6号402室，", "新华路18弄6号402室"),
        ("家住后张村58号，门口水沟堵了", "后张村58号"),
        ("我家是下王村3组15号，", "下王村3组15号"),
        ("我家3栋2单元1601对面", "3栋2单元1601"),
        ("我住在丽景湾3-1602，电梯坏了", "丽景湾3-1602"),
        ("西湖区阳光花园3幢2单元501室", "阳光花园3幢2单元501室"),
        ("我家住金华街18号，门口堵了", "金华街18号"),
        ("12-2-601楼上漏水", "12-2-601"),
    ],
)
def test_addresses(text: str, span: str) -> None:
    assert found(text) == [(span, "address")]


@pytest.mark.parametrize(
    "text",
    [
        "小区3幢楼下垃圾没人清",
        "8号楼的电梯又坏了",
        "3幢2单元门口的灯",
        "我在5楼，走廊灯不亮",
        "住院部12床的家属",
        "三年级3班的老师",
        "人民路88号的超市门口",
        "我家楼下人民路88号的烧烤店",
        "中山路120号是社区卫生服务中心",
        "坐3路公交，12路也少",
        "小区有1200户，300个车位",
        "12月3号500元的补贴",
        "取件码是6-2-3018",
        "3栋到5栋之间的路灯",
    ],
)
def test_not_household_addresses(text: str) -> None:
    assert found(text) == []
