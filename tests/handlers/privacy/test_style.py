"""Masking styles: the defaults of the issue, placeholders, and idempotence on examples."""

from __future__ import annotations

import pytest

from handlers.privacy import MaskStyle, mask, mask_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("手机13812341234", "手机138****1234"),
        ("+86 139-1234-5678", "+86 139-****-5678"),
        ("电话一五九一二三四五六七八", "电话一五九****五六七八"),
        ("我叫张晓峰，", "我叫张**，"),
        ("我是欧阳娜娜的家长", "我是欧阳**的家长"),
        ("车牌浙A·12316", "车牌浙A·***16"),
        ("住阳光花园3幢2单元501室", "住阳光花园3幢2单元***室"),
        ("住址12-2-601，", "住址12-2-***，"),
        ("身份证440305195907210499", "身份证440305********0499"),
        ("卡号6217007777412157", "卡号************2157"),
        ("邮箱zhangsan@qq.com", "邮箱z*******@qq.com"),
        ("座机0579-85236617", "座机0579-****6617"),
        ("订单号13812345678", "订单号13812345678"),
    ],
)
def test_default_style(text: str, masked: str) -> None:
    assert mask_text(text) == masked


def test_spans_refer_to_the_original_text() -> None:
    text = "我叫王建华手机13812345678"
    result = mask(text, MaskStyle.placeholders())
    assert result.text == "我叫[姓名]手机[手机号]"
    assert [text[s.start : s.end] for s in result.spans] == ["王建华", "13812345678"]


def test_custom_style_per_type() -> None:
    style = MaskStyle({"mobile": lambda s: "<phone>"})
    assert mask("我叫王建华手机13812345678", style).text == "我叫***手机<phone>"
    assert mask("我叫王建华", MaskStyle.stars()).text == "我叫***"


@pytest.mark.parametrize(
    "text",
    [
        "我叫王建华住在阳光花园3幢2单元501室电话13812345678身份证440305195907210499",
        "车牌浙AD12345，卡号6228 4840 2685 9952 898，邮箱384721956@qq.com，座机(0579)85413392",
        "家住后张村58号，户主：刘桂兰，电话一三九五七八二四六一零",
    ],
)
def test_masking_twice_changes_nothing(text: str) -> None:
    once = mask_text(text)
    assert once != text
    assert mask(once).spans == []
