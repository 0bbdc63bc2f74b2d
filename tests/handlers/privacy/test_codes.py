"""Licence plates and e-mail addresses."""

from __future__ import annotations

import pytest

from tests.handlers.privacy.helpers import found


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("车牌浙A·12345的车", "浙A·12345"),
        ("浙G 7K215占用通道", "浙G 7K215"),
        ("一辆浙GB2K17没动", "浙GB2K17"),
        ("新能源车浙AD12345占桩", "浙AD12345"),
        ("大货车浙G12345D半夜进来", "浙G12345D"),
        ("粤B·DF1234的车主", "粤B·DF1234"),
        ("车牌浙g·3e891白色", "浙g·3e891"),
        ("车牌浙Ａ·１２３４５", "浙Ａ·１２３４５"),
        ("浙 A12345停在门口", "浙 A12345"),
    ],
)
def test_plate_variants(text: str, span: str) -> None:
    assert found(text) == [(span, "plate")]


@pytest.mark.parametrize("text", ["浙A的车", "江苏ABCDE级", "浙AI2345", "浙AO1234"])
def test_not_plates(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("邮箱zhangsan@qq.com", "zhangsan@qq.com"),
        ("QQ邮箱384721956@qq.com，", "384721956@qq.com"),
        ("发到li.hong-mei@163.com可以", "li.hong-mei@163.com"),
        ("邮箱chen.wei@sina.com.cn", "chen.wei@sina.com.cn"),
        ("邮箱ｗａｎｇ＠１６３．ｃｏｍ", "ｗａｎｇ＠１６３．ｃｏｍ"),
    ],
)
def test_email_variants(text: str, span: str) -> None:
    assert found(text) == [(span, "email")]


@pytest.mark.parametrize("text", ["@物业小王 什么时候修", "@张经理 请回复", "z***@qq.com"])
def test_mentions_and_masked_emails_are_not_emails(text: str) -> None:
    assert found(text) == []
