"""帮助 lists every command the parsers accept, each with an example that parses as that command."""

from __future__ import annotations

import re

from handlers import texts
from handlers.commands import Command, Verb, parse_command
from handlers.duties import router

EXAMPLE = re.compile(r"「([^」]+)」")


def _examples(is_staff: bool) -> list[str]:
    return EXAMPLE.findall(texts.help_text(is_staff))


def _kind(text: str) -> str:
    """What the bot does with `text`, in the order handlers.actions.on_staff_text asks."""
    if router.handles(text):
        kind = router.command_kind(text)
        assert kind is not None, f"{text!r} is a 代表履职 command of no known kind"
        return kind
    parsed = parse_command(text)
    return parsed.verb.value if isinstance(parsed, Command) else f"malformed: {parsed.reason}"


def test_every_example_in_help_parses_as_a_command() -> None:
    for example in _examples(is_staff=True):
        assert _kind(example) != Verb.UNKNOWN.value, example


def test_every_command_the_parsers_accept_is_in_help_with_an_example() -> None:
    shown = {_kind(e) for e in _examples(is_staff=True)}
    expected = {v.value for v in Verb if v is not Verb.UNKNOWN} | set(router.COMMAND_KINDS)
    assert expected - shown == set(), "commands missing from 帮助"


def test_deputies_see_the_duty_commands_and_not_the_staff_ones() -> None:
    shown = {_kind(e) for e in _examples(is_staff=False)}
    assert set(router.COMMAND_KINDS) - {"confirm_register"} <= shown
    assert not {"reassign", "close", "notify", "confirm_register"} & shown


def test_command_kind_reads_what_the_router_dispatches() -> None:
    cases = {
        "#征集3 1A": "survey_answer",
        "征集3": "survey_show",
        "#问卷3 1B": "survey_answer",
        "#投票5 1A": "vote",
        "#会议7 参加": "meeting_register",
        "#活动7 请假 出差": "meeting_excuse",
        "#会议7 签到": "meeting_checkin",
        "#签到7 abc": "checkin_qr",
        "#阅文5 已读": "doc_read",
        "#阅文5": "doc_open",
        "登记 调研 今天 某村": "register",
        "确认登记 12": "confirm_register",
    }
    for text, kind in cases.items():
        assert router.handles(text) and router.command_kind(text) == kind, text
