"""Mobiles, landlines, resident IDs and bank cards: every variant and trap in insight.md."""

from __future__ import annotations

import pytest

from handlers.privacy.checks import id_check_char, luhn_ok, valid_id_card
from tests.handlers.privacy.helpers import found

FULL_WIDTH_CARD = "６２２５ ８８５５ １３１３ ７３５３ ７９２"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("手机13857921234，谢谢", "13857921234"),
        ("电话：139 5792 8866", "139 5792 8866"),
        ("手机号186-5790-3321", "186-5790-3321"),
        ("联系 +86 15057923318", "+86 15057923318"),
        ("+86-177-5792-0066是我女儿的", "+86-177-5792-0066"),
        ("号码0086 13605791122", "0086 13605791122"),
        ("打(+86)18957906543找我", "(+86)18957906543"),
        ("手机：１３９５７９０１２３４", "１３９５７９０１２３４"),
        ("回电１５８ ５７９０ ６６７７", "１５８ ５７９０ ６６７７"),
        ("我的电话是一八六五七九零三三二一你们记一下", "一八六五七九零三三二一"),
        ("手机幺三八五七九二六六零四麻烦回电", "幺三八五七九二六六零四"),
        ("电话一三五 七九零六 二二八八", "一三五 七九零六 二二八八"),
        ("号码1３8５7９0２2３3", "1３8５7９0２2３3"),
    ],
)
def test_mobile_variants(text: str, span: str) -> None:
    assert found(text) == [(span, "mobile")]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("座机0579-85236617", "0579-85236617"),
        ("电话(0579)85413392", "(0579)85413392"),
        ("家里电话是0579 8526 3307", "0579 8526 3307"),
        ("北京010-6552 3381", "010-6552 3381"),
        ("固话85236618，手机不常开", "85236618"),
        ("打8960 1234找我", "8960 1234"),
        ("座机057985236619", "057985236619"),
        ("电话０５７９－８５２２６６１５", "０５７９－８５２２６６１５"),
        ("座机：（0571）87654321", "（0571）87654321"),
        ("上海021-62345678", "021-62345678"),
    ],
)
def test_landline_variants(text: str, span: str) -> None:
    assert found(text) == [(span, "landline")]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("身份证号440305195907210499", "440305195907210499"),
        ("身份证37020219481002633X，", "37020219481002633X"),
        ("身份证是11010520031118437x", "11010520031118437x"),
        ("号码 330102 19900108 0475", "330102 19900108 0475"),
        ("证件号３２０５８３１９５７０５１４１４７５", "３２０５８３１９５７０５１４１４７５"),
    ],
)
def test_id_card_variants(text: str, span: str) -> None:
    assert found(text) == [(span, "id_card")]


@pytest.mark.parametrize(
    "text",
    [
        "身份证号440305195907210490",  # wrong check character
        "身份证号330102199002300475",  # 30 February
        "身份证号330102209901010000",  # born in the future
    ],
)
def test_id_card_that_fails_its_checks_is_not_an_id(text: str) -> None:
    assert [t for _s, t in found(text)] != ["id_card"]


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("卡号6217007777412157", "6217007777412157"),
        ("银行卡6228 4840 2685 9952 898，", "6228 4840 2685 9952 898"),
        ("卡是4367 4222 2029 7290", "4367 4222 2029 7290"),
        ("工资卡6222028666617603139没到账", "6222028666617603139"),
        ("卡号" + FULL_WIDTH_CARD, FULL_WIDTH_CARD),
    ],
)
def test_bank_card_variants(text: str, span: str) -> None:
    assert found(text) == [(span, "bank_card")]


def test_bank_card_failing_luhn_is_not_a_card() -> None:
    assert found("卡号6217007777412158") == []


@pytest.mark.parametrize(
    "text",
    [
        "订单号13812345678，快递还没到",
        "订单编号：13812345678",
        "退款单号2023111512345678901",
        "快递单号SF1382345678901",
        "物流单号YT7823610945217",
        "工单号GD202311150032",
        "电表号330123456789",
        "户号0987654321",
        "发票号码04467821",
        "合同编号HT20231108017",
        "合同号20230315001234567",
        "缴费账号6217001234567890",
        "打了12345又打110，还有95598",
        "客服热线400-820-8820",
        "服务热线0579-85236617",
        "已经打过138****6612了",
        "尾号0127的卡",
        "统一社会信用代码91330782MA28F3X21K",
        "2023-11-15 14:30 停电",
        "一份25元，一年3650元，今年78岁",
        "验证码382716",
    ],
)
def test_numbers_that_are_not_personal(text: str) -> None:
    assert found(text) == []


@pytest.mark.parametrize(
    "label",
    [
        "退款单",  # a head word + 单: the slip's number, not a phone
        "快递单",
        "物流单：",
        "退货单",
        "付款单号",
        "缴费单",
        "账单",
        "单据号",
        "订单编码",
        "退款编码：",
        "订单ID：",
        "订单No.",
        "退款流水",
        "工单流水号",
    ],
)
def test_order_and_refund_labels_with_a_qualifier(label: str) -> None:
    assert found(f"{label}15906781234，麻烦查一下") == []


@pytest.mark.parametrize(
    "text",
    [
        "快递单上写的电话15906781234",  # the label is not just before the number
        "退款单号找不到，我手机15906781234",
        "订单的联系人电话15906781234",
    ],
)
def test_a_phone_near_an_order_word_is_still_a_phone(text: str) -> None:
    assert found(text) == [("15906781234", "mobile")]


def test_mobile_inside_an_email_is_the_email() -> None:
    assert found("邮件17705796688@163.com") == [("17705796688@163.com", "email")]


def test_checksums() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert valid_id_card("11010519491231002X")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
