"""Parser for the text commands deputies and staff send to the DingTalk bot.

Grammar (product.md journey 3), `#` optional, full-width ＃/digits/space and Chinese colons
tolerated, leading @mention remnants dropped::

    #123                      show the case
    #123 接单                  claim            (认领, 受理)
    #123 回复 <text>           reply            (答复, 回答, 回应)
    #123 转办 <department>     transfer         (转交, 交办, 转给)
    #123 补充 <question>       ask the constituent for more detail (需补充, 请补充, 追问)
    #123 不予受理 <reason>     reject           (驳回, 不受理, 拒绝受理)
    #123 改派 <deputy>         staff reassign   (转派, 指派, 重新分派)
    #123 办结 [note]           staff close      (结案, 关闭)
    #123 分类 <category>       correct the category (改分类, 更正分类)
    待办 · 帮助 · 确认 / 已阅 · 通知 <区域或联络站> <内容>

The verb may also come first (``接单 #123``). `parse_command` never raises on user input: it
returns a `Command` (possibly `Verb.UNKNOWN` with a hint) or a `ParseError` with a Chinese reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from handlers import texts


class Verb(StrEnum):
    """What a command asks for; values match the action keys used in handlers.texts."""

    CLAIM = "claim"
    REPLY = "reply"
    TRANSFER = "transfer"
    ASK_INFO = "ask_info"
    REJECT = "reject"
    REASSIGN = "reassign"
    CLOSE = "close"
    SHOW = "show"
    TODO = "todo"
    HELP = "help"
    NOTIFY = "notify"
    CONFIRM_NOTICE = "confirm_notice"
    CATEGORISE = "categorise"
    UNKNOWN = "unknown"


_TARGET_SPLIT = re.compile(r"[\s:：]+")


@dataclass(frozen=True)
class Command:
    """A parsed command. `arg` is the trimmed text after the verb ('' if none).

    For UNKNOWN, `arg` is the text that was not understood and `hint` the reply to send.
    """

    verb: Verb
    case_number: int | None = None
    arg: str = ""
    hint: str = ""

    @property
    def target(self) -> str:
        """First word of `arg`: the department, deputy, or region/station of a notice."""
        return _TARGET_SPLIT.split(self.arg, maxsplit=1)[0] if self.arg else ""

    @property
    def body(self) -> str:
        """`arg` after its first word: a transfer/reassign note or the text of a notice."""
        parts = _TARGET_SPLIT.split(self.arg, maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""


@dataclass(frozen=True)
class ParseError:
    """A recognised but malformed command; `reason` is a polite Chinese hint for the sender."""

    reason: str


# Longest synonyms first so that e.g. 需补充 is not read as 需 + 补充, 不予受理 not as 受理.
_CASE_WORDS: dict[str, Verb] = {
    "接单": Verb.CLAIM,
    "认领": Verb.CLAIM,
    "受理": Verb.CLAIM,
    "回复": Verb.REPLY,
    "答复": Verb.REPLY,
    "回答": Verb.REPLY,
    "回应": Verb.REPLY,
    "转办": Verb.TRANSFER,
    "转交": Verb.TRANSFER,
    "交办": Verb.TRANSFER,
    "转给": Verb.TRANSFER,
    "补充": Verb.ASK_INFO,
    "需补充": Verb.ASK_INFO,
    "请补充": Verb.ASK_INFO,
    "要求补充": Verb.ASK_INFO,
    "追问": Verb.ASK_INFO,
    "不予受理": Verb.REJECT,
    "不受理": Verb.REJECT,
    "拒绝受理": Verb.REJECT,
    "驳回": Verb.REJECT,
    "改派": Verb.REASSIGN,
    "转派": Verb.REASSIGN,
    "指派": Verb.REASSIGN,
    "重新分派": Verb.REASSIGN,
    "办结": Verb.CLOSE,
    "结案": Verb.CLOSE,
    "关闭": Verb.CLOSE,
    "查看": Verb.SHOW,
    "详情": Verb.SHOW,
    "分类": Verb.CATEGORISE,
    "改分类": Verb.CATEGORISE,
    "更正分类": Verb.CATEGORISE,
}
_CASE_WORDS_LONGEST_FIRST = sorted(_CASE_WORDS, key=len, reverse=True)

_STANDALONE_WORDS: dict[str, Verb] = {
    "待办": Verb.TODO,
    "我的待办": Verb.TODO,
    "待办事项": Verb.TODO,
    "待处理": Verb.TODO,
    "帮助": Verb.HELP,
    "help": Verb.HELP,
    "?": Verb.HELP,
    "？": Verb.HELP,
    "菜单": Verb.HELP,
    "指令": Verb.HELP,
    "确认": Verb.CONFIRM_NOTICE,
    "已阅": Verb.CONFIRM_NOTICE,
    "阅": Verb.CONFIRM_NOTICE,
    "已读": Verb.CONFIRM_NOTICE,
    "收到": Verb.CONFIRM_NOTICE,
    "已收到": Verb.CONFIRM_NOTICE,
    "确认收到": Verb.CONFIRM_NOTICE,
}
_NOTIFY_WORDS = ("通知", "发通知")

_REQUIRES_ARG = frozenset(
    {Verb.REPLY, Verb.TRANSFER, Verb.ASK_INFO, Verb.REJECT, Verb.REASSIGN, Verb.NOTIFY}
)

_MAX_DIGITS = 9  # a case number beyond this is a typo (or a phone number), not a case

# Invisible characters clients insert around @mentions; never meaningful in a command.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"))
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_HASH = "#＃"
# What may stand between parts of a command: any Unicode space (incl. U+3000, U+2005), colons,
# commas.
_SEP = re.compile(r"[\s:：,，、]*")
_MENTION = re.compile(r"[@＠][^\s#＃]*")
_NUMBER = re.compile(r"([#＃]\s*)?([0-9０-９]+)")
_TRAILING_PUNCT = "。.!！~～、,，?？ \t\u3000"


def parse_command(text: str) -> Command | ParseError:
    """Parse one message to the bot; never raises on any input string."""
    s = _strip_head(text.translate(_INVISIBLE))
    if not s:
        return Command(Verb.UNKNOWN, hint=texts.unknown_command())
    if (m := _NUMBER.match(s)) is not None and _number_ends(s, m):
        return _parse_case_first(s, m)
    if s[0] in _HASH:
        return _parse_hash_without_number(s)
    if (verb_first := _parse_verb_first(s)) is not None:
        return verb_first
    if (standalone := _parse_standalone(s)) is not None:
        return standalone
    if (notify := _parse_notify(s)) is not None:
        return notify
    return Command(Verb.UNKNOWN, arg=s, hint=texts.unknown_command())


def _strip_head(s: str) -> str:
    """Drop surrounding space and leading @mentions (`@张三 #123 接单`)."""
    s = s.strip()
    while s[:1] in ("@", "＠"):
        s = s[_match_len(_MENTION, s) :].lstrip()
    return s


def _match_len(pattern: re.Pattern[str], s: str) -> int:
    """Length of `pattern` matched at the start of `s` (0 if none)."""
    m = pattern.match(s)
    return m.end() if m else 0


def _number_ends(s: str, m: re.Match[str]) -> bool:
    """A number without `#` must be followed by a separator, a verb or the end (not 3号楼)."""
    if m.group(1):
        return True
    rest = s[m.end() :]
    return not rest or _match_len(_SEP, rest) > 0 or _match_case_word(rest) is not None


def _case_number(digits: str) -> int | None:
    """The case number from ASCII or full-width digits, None if it cannot be a case number."""
    if len(digits) > _MAX_DIGITS:
        return None
    n = int(digits.translate(_FULLWIDTH_DIGITS))
    return n if n > 0 else None


def _skip_sep(s: str) -> str:
    """`s` without leading separators."""
    return s[_match_len(_SEP, s) :]


def _match_case_word(s: str) -> str | None:
    """The case verb word `s` starts with, longest synonym first."""
    for word in _CASE_WORDS_LONGEST_FIRST:
        if s.startswith(word):
            return word
    return None


def _finish(verb: Verb, number: int | None, arg: str) -> Command | ParseError:
    """Check the required argument and build the command."""
    arg = arg.strip()
    if verb in _REQUIRES_ARG and not arg:
        return ParseError(texts.hint_missing_arg(verb.value))
    return Command(verb, number, arg)


def _parse_case_first(s: str, m: re.Match[str]) -> Command | ParseError:
    """`#123 <verb> <arg>` or `#123`."""
    number = _case_number(m.group(2))
    if number is None:
        return ParseError(texts.hint_bad_number())
    rest = _skip_sep(s[m.end() :]).strip()
    if not rest:
        return Command(Verb.SHOW, number)
    word = _match_case_word(rest)
    if word is None:
        first = _TARGET_SPLIT.split(rest, maxsplit=1)[0][:12]
        return Command(Verb.UNKNOWN, number, rest, hint=texts.unknown_command(first))
    return _finish(_CASE_WORDS[word], number, _skip_sep(rest[len(word) :]))


def _parse_hash_without_number(s: str) -> Command | ParseError:
    """`#接单`: a command that forgot its number, or just unknown text after `#`."""
    rest = _skip_sep(s[1:])
    word = _match_case_word(rest)
    if word is not None:
        return ParseError(texts.hint_missing_number(_CASE_WORDS[word].value))
    return Command(Verb.UNKNOWN, arg=s, hint=texts.unknown_command())


def _parse_verb_first(s: str) -> Command | ParseError | None:
    """`接单 #123`, `回复 #123 内容`; a case verb with no number is a ParseError."""
    word = _match_case_word(s)
    if word is None:
        return None
    verb = _CASE_WORDS[word]
    rest = _skip_sep(s[len(word) :])
    m = _NUMBER.match(rest)
    if m is None or not (m.group(1) or _ends_number_alone(rest, m)):
        return ParseError(texts.hint_missing_number(verb.value))
    number = _case_number(m.group(2))
    if number is None:
        return ParseError(texts.hint_bad_number())
    return _finish(verb, number, _skip_sep(rest[m.end() :]))


def _ends_number_alone(s: str, m: re.Match[str]) -> bool:
    """Without `#`, `回复 123 内容` is a number but `回复 3号楼已修好` is text."""
    rest = s[m.end() :]
    return not rest or _match_len(_SEP, rest) > 0


def _parse_standalone(s: str) -> Command | None:
    """`待办`, `帮助`, `确认` and friends, tolerating trailing punctuation (`收到！`)."""
    word = s.lower()
    for candidate in (word, word.rstrip(_TRAILING_PUNCT).rstrip()):
        if candidate in _STANDALONE_WORDS:
            return Command(_STANDALONE_WORDS[candidate])
    return None


def _parse_notify(s: str) -> Command | ParseError | None:
    """`通知 <区域或联络站> <内容>`; needs a separator after 通知 (so 通知收到了 is not one)."""
    for word in _NOTIFY_WORDS:
        if not s.startswith(word):
            continue
        after = s[len(word) :]
        if after and _match_len(_SEP, after) == 0:
            continue
        cmd = _finish(Verb.NOTIFY, None, _skip_sep(after))
        if isinstance(cmd, Command) and not cmd.body:
            return ParseError(texts.hint_missing_arg(Verb.NOTIFY.value))
        return cmd
    return None
