"""Names: cue words, titles, compound surnames — and the traps."""

from __future__ import annotations

import pytest

from tests.handlers.privacy.helpers import found


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("我叫李秀英，今年七十二岁了", "李秀英"),
        ("我是张伟，住在这里", "张伟"),
        ("本人陈建国，反映停车问题", "陈建国"),
        ("户主：刘桂兰，房子漏水", "刘桂兰"),
        ("业主周志强投诉物业", "周志强"),
        ("联系人吴丽萍，有事找她", "吴丽萍"),
        ("我叫诸葛明，拖了很久", "诸葛明"),
        ("我是欧阳娜娜的家长", "欧阳娜娜"),
        ("投诉人：司马红", "司马红"),
        ("李建国书记说了下周来", "李建国"),
        ("陈志强经理答应过", "陈志强"),
        ("赵春梅阿姨一个人住", "赵春梅"),
        ("物业经理黄国庆说没钱", "黄国庆"),
        ("邻居杨建军天天堆杂物", "杨建军"),
        ("车主魏国强，电话", "魏国强"),
        ("我叫付家豪，在这住", "付家豪"),
        ("社区书记高明远说会协调", "高明远"),
        ("我叫江海波住在这", "江海波"),
        ("业主赫连诚反映", "赫连诚"),
    ],
)
def test_names(text: str, name: str) -> None:
    assert found(text) == [(name, "name")]


@pytest.mark.parametrize(
    "text",
    [
        "王阿姨天天在广场跳舞",
        "张书记说下周来开会",
        "老李家门口的路灯坏了",
        "小张说他会跟物业反映",
        "刘主任和陈阿姨都来看过了",
        "老王和小陈都说归街道管",
        "李宁专卖店旁边的人行道",
        "王老吉的广告牌太低",
        "雷锋精神要发扬",
        "项目经理说下周开工",
        "党支部书记来了",
        "@张经理 请回复一下",
        "李总和王工都不在",
    ],
)
def test_not_names(text: str) -> None:
    assert found(text) == []
