"""The DingTalk text-command parser: grammar, synonyms, tolerance, and never raising."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers import texts
from handlers.commands import Command, ParseError, Verb, parse_command
from handlers.duties import router as duties_router

PROPS = settings(max_examples=400, deadline=None, derandomize=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#123 接单", Command(Verb.CLAIM, 123)),
        ("#123 回复 已联系城管，本周内修复", Command(Verb.REPLY, 123, "已联系城管，本周内修复")),
        ("#123 转办 住建局", Command(Verb.TRANSFER, 123, "住建局")),
        ("#123 补充 请提供具体楼号", Command(Verb.ASK_INFO, 123, "请提供具体楼号")),
        ("#123 不予受理 不属于职责范围", Command(Verb.REJECT, 123, "不属于职责范围")),
        ("#123 改派 李四", Command(Verb.REASSIGN, 123, "李四")),
        ("#123 改派 d-42", Command(Verb.REASSIGN, 123, "d-42")),
        ("#123 办结", Command(Verb.CLOSE, 123)),
        ("#123 办结 已现场核实", Command(Verb.CLOSE, 123, "已现场核实")),
        ("#123", Command(Verb.SHOW, 123)),
        ("待办", Command(Verb.TODO)),
        ("帮助", Command(Verb.HELP)),
        ("通知 城南联络站 周五开会", Command(Verb.NOTIFY, None, "城南联络站 周五开会")),
        ("确认", Command(Verb.CONFIRM_NOTICE)),
        ("已阅", Command(Verb.CONFIRM_NOTICE)),
    ],
)
def test_grammar(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123 接单", Command(Verb.CLAIM, 123)),  # '#' optional
        ("＃１２３　接单", Command(Verb.CLAIM, 123)),  # full-width ＃, digits, space
        ("#123：回复：已修好", Command(Verb.REPLY, 123, "已修好")),  # Chinese colons
        ("#123 回复: 已修好", Command(Verb.REPLY, 123, "已修好")),
        ("#123回复已修好", Command(Verb.REPLY, 123, "已修好")),  # no spaces at all
        ("   #123 接单  ", Command(Verb.CLAIM, 123)),
        ("@连心助手 #123 接单", Command(Verb.CLAIM, 123)),  # @mention remnant
        ("@连心助手\u2005#123 接单", Command(Verb.CLAIM, 123)),  # DingTalk's U+2005 after @
        ("＠张三 ＠李四 #123 接单", Command(Verb.CLAIM, 123)),
        ("@连心助手#123 接单", Command(Verb.CLAIM, 123)),
        ("\u200b#123 接单", Command(Verb.CLAIM, 123)),
        ("# 123 接单", Command(Verb.CLAIM, 123)),
        ("#0123 接单", Command(Verb.CLAIM, 123)),
        ("#123 回复 第一行\n第二行 ", Command(Verb.REPLY, 123, "第一行\n第二行")),
        ("#123 回复 （已联系）：城管！", Command(Verb.REPLY, 123, "（已联系）：城管！")),
        ("接单 #123", Command(Verb.CLAIM, 123)),  # verb first
        ("回复 #123 已修好", Command(Verb.REPLY, 123, "已修好")),
        ("回复 123 已修好", Command(Verb.REPLY, 123, "已修好")),
        ("收到！", Command(Verb.CONFIRM_NOTICE)),
        ("已阅。", Command(Verb.CONFIRM_NOTICE)),
        ("HELP", Command(Verb.HELP)),
        ("？", Command(Verb.HELP)),
        ("我的待办", Command(Verb.TODO)),
        ("通知：城南联络站：周五开会", Command(Verb.NOTIFY, None, "城南联络站：周五开会")),
    ],
)
def test_tolerance(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("word", "verb"),
    [
        ("认领", Verb.CLAIM),
        ("受理", Verb.CLAIM),
        ("答复", Verb.REPLY),
        ("回答", Verb.REPLY),
        ("转交", Verb.TRANSFER),
        ("交办", Verb.TRANSFER),
        ("需补充", Verb.ASK_INFO),
        ("请补充", Verb.ASK_INFO),
        ("驳回", Verb.REJECT),
        ("不受理", Verb.REJECT),
        ("转派", Verb.REASSIGN),
        ("结案", Verb.CLOSE),
        ("查看", Verb.SHOW),
    ],
)
def test_synonyms(word: str, verb: Verb) -> None:
    result = parse_command(f"#7 {word} 内容")
    assert isinstance(result, Command)
    assert (result.verb, result.case_number, result.arg) == (verb, 7, "内容")


@pytest.mark.parametrize(
    "verb", [Verb.REPLY, Verb.TRANSFER, Verb.ASK_INFO, Verb.REJECT, Verb.REASSIGN]
)
def test_missing_required_argument_is_a_specific_hint(verb: Verb) -> None:
    word = texts.command_example(verb.value).split()[1]
    for text in (f"#123 {word}", f"#123 {word}  ", f"#123 {word}："):
        assert parse_command(text) == ParseError(texts.hint_missing_arg(verb.value))


def test_notify_needs_target_and_content() -> None:
    hint = ParseError(texts.hint_missing_arg("notify"))
    assert parse_command("通知") == hint
    assert parse_command("通知 城南联络站") == hint
    assert parse_command("通知收到了").verb == Verb.UNKNOWN  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("接单", texts.hint_missing_number("claim")),
        ("#接单", texts.hint_missing_number("claim")),
        ("回复 已修好", texts.hint_missing_number("reply")),
        ("回复 3号楼已修好", texts.hint_missing_number("reply")),  # 3 is not a case number here
        ("#0 接单", texts.hint_bad_number()),
        ("#1234567890 接单", texts.hint_bad_number()),
    ],
)
def test_parse_errors(text: str, reason: str) -> None:
    assert parse_command(text) == ParseError(reason)


@pytest.mark.parametrize(
    "text", ["", "   ", "你好", "3号楼路灯坏了", "#", "#abc", "@@", "通知收到了"]
)
def test_unknown_text_gets_help(text: str) -> None:
    result = parse_command(text)
    assert isinstance(result, Command)
    assert result.verb == Verb.UNKNOWN
    assert result.case_number is None
    assert texts.help_text() in result.hint


def test_unknown_verb_after_number_names_the_word() -> None:
    result = parse_command("#123 催办 快点")
    assert result == Command(Verb.UNKNOWN, 123, "催办 快点", texts.unknown_command("催办"))


def test_target_and_body() -> None:
    cmd = parse_command("#123 改派 李四 张代表请假")
    assert isinstance(cmd, Command)
    assert (cmd.target, cmd.body) == ("李四", "张代表请假")
    notice = parse_command("通知 城南联络站：周五下午 三点开会")
    assert isinstance(notice, Command)
    assert (notice.target, notice.body) == ("城南联络站", "周五下午 三点开会")
    assert (Command(Verb.CLAIM, 1).target, Command(Verb.CLAIM, 1).body) == ("", "")


@pytest.mark.parametrize("verb", [v for v in Verb if v != Verb.UNKNOWN])
def test_every_example_in_texts_parses_to_its_verb(verb: Verb) -> None:
    result = parse_command(texts.command_example(verb.value))
    assert isinstance(result, Command)
    assert result.verb == verb


@pytest.mark.parametrize("staff", [False, True])
def test_every_command_in_help_text_parses(staff: bool) -> None:
    quoted = re.findall(r"「([^」]+)」", texts.help_text(is_staff=staff))
    assert len(quoted) >= 8
    for text in quoted:
        if duties_router.handles(text):
            continue  # 代表履职 commands are read first (tests/handlers/test_help.py)
        result = parse_command(text)
        assert isinstance(result, Command), text
        assert result.verb != Verb.UNKNOWN, text


@pytest.mark.parametrize("action", sorted(texts.CARD_BUTTON_LABELS))
def test_card_button_commands_parse_to_their_action(action: str) -> None:
    result = parse_command(texts.card_command(action, 123))
    if isinstance(result, ParseError):  # buttons for text-taking actions: the hint asks for it
        assert result == ParseError(texts.hint_missing_arg(action))
    else:
        assert (result.verb.value, result.case_number) == (action, 123)


def test_confirm_words_of_notice_prompt_parse() -> None:
    for word in texts.CONFIRM_WORDS:
        assert parse_command(word) == Command(Verb.CONFIRM_NOTICE)


# ---------------------------------------------------------------- properties

commandish = st.lists(
    st.sampled_from(
        list("#＃0123456789０１２３ 　\u2005\u200b:：,，@＠。！?\n")
        + ["接单", "回复", "转办", "补充", "不予受理", "改派", "办结", "待办", "帮助"]
        + ["通知", "确认", "已阅", "需", "不", "城南", "x"]
    ),
    max_size=12,
).map("".join)


def _check(result: Command | ParseError) -> None:
    if isinstance(result, ParseError):
        assert result.reason
        return
    assert isinstance(result, Command)
    assert result.case_number is None or result.case_number > 0
    assert result.arg == result.arg.strip()
    if result.verb == Verb.UNKNOWN:
        assert result.hint
    if result.verb in (Verb.REPLY, Verb.TRANSFER, Verb.ASK_INFO, Verb.REJECT, Verb.REASSIGN):
        assert result.arg and result.target
    if result.verb == Verb.NOTIFY:
        assert result.target and result.body


@PROPS
@given(st.text())
def test_never_raises_on_any_unicode(text: str) -> None:
    _check(parse_command(text))


@PROPS
@given(commandish)
def test_never_raises_on_command_like_text(text: str) -> None:
    _check(parse_command(text))


@PROPS
@given(
    st.integers(min_value=1, max_value=999_999_999),
    st.sampled_from(["回复", "转办", "补充", "不予受理", "改派", "办结"]),
    st.text(st.characters(exclude_characters="\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"))
    .map(str.strip)
    .filter(lambda s: s != "" and s[0] not in ":：,，、"),
)
def test_round_trip(number: int, word: str, arg: str) -> None:
    result = parse_command(f"#{number} {word} {arg}")
    assert isinstance(result, Command)
    assert (result.case_number, result.arg) == (number, arg)
