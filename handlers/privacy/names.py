"""Natural persons' full names: cue words, titles, a surname list and jieba's dictionary."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from handlers.privacy.lexicon import alternation, words
from handlers.privacy.model import lexicon, segmenter
from handlers.privacy.name_context import parallel
from handlers.privacy.spans import Span
from handlers.privacy.text import is_cjk

# characters that end a given name: particles, pronouns, verbs and nouns that follow names
_STOP = frozenset(
    "的了是在我你他她它们这那个和与及就都也还又很不没有吗呢吧啊呀哦嗯么说到去来要会能把被给让对向从"
    "住电话号手机今昨年日时分路街区市县镇村楼单元室门店里上下前后左右等讲反映投诉举报"
    "打叫找问告诉帮请麻烦每已经几些啥什怎为因所以但而且或者再才过着得地人次"
)
_SPEECH = re.compile(r"(?:说|讲|反映|投诉|举报|告诉|答应|表示|承诺|同意|打电话)")
_NAMING = re.compile(r"(?:叫|姓名|名字|名叫|叫做)[\s:：是为]{0,2}$")
_TWO_RARE = 50  # two-character nr entries above this are words jieba mis-tags (陈旧 327, 耿直 69)
_FREE_PLACE_END = frozenset("桥岭岗山埠港坞坪塘堰坝洲岛河湖溪边亭站场馆")
_NUMERALS = frozenset("一二三四五六七八九十")
_COMMON = 500  # a given-name token more frequent than this is an ordinary word (光明, 海洋)
# context that makes a lone two-character token a person: 王芳的车, 给张伟打, 和李娜一起, 邓伟和
_AFTER_2 = re.compile(
    r"(?:[的和跟与是在家也都就还又给把被让、，,。！!？?；;（(）)]|一起"
    r"|昨天|今天|前天|上周|上个月|去年|前几天|一直|经常|天天|每天|多次|已经|刚才)"
)
_MEASURE = frozenset("这那一几每两哪某")
_BEFORE_2 = frozenset("给和跟与找问让被把同、，,")
# surnames that are far more often function words: alone, they start no name without a cue
_WEAK = frozenset(
    "和于向都能来时平明安成常连全相门关从那也还就把被给让对以及与又再才上下中前后里外大小多少长通有无是不花水山云海双强原南国文方"
)
_RARE = 10  # dictionary frequency below which an nr entry is an ordinary person's name
_CUE_GAP = r"[\s:：是叫为]{0,2}"
# a phone number just after a name (姜伟13173626491, 王芳（手机…）)
_PHONE_NEXT = re.compile(r"[\s:：（(]{0,2}(?:手机|电话|\+?86)?[\s:：]?1[3-9]\d")
# what follows a split name written with no cue (符|海燕说, 巫|春花的低保, 车|志远的车)
_NAME_NEXT = re.compile(
    rf"(?:{_SPEECH.pattern}|的|、|[（(]|[\s:：]?1[3-9]\d|家(?:门口|门前|里|的|楼上|楼下|隔壁|旁边))"
)


@cache
def _cue_re() -> re.Pattern[str]:
    roles = sorted(words("titles") - words("kinship"), key=len, reverse=True)
    cues = alternation("name_cues") + "|" + "|".join(re.escape(t) for t in roles if len(t) > 1)
    return re.compile(rf"(?:{cues}){_CUE_GAP}$")


@cache
def _multi_titles() -> str:
    return "|".join(
        re.escape(t) for t in sorted(words("titles"), key=len, reverse=True) if len(t) > 1
    )


@cache
def _title_re() -> re.Pattern[str]:
    return re.compile(rf"(?:{alternation('titles')})")


@cache
def _full_title_re() -> re.Pattern[str]:
    return re.compile(rf"(?:{_multi_titles()}|[姐哥])")


def _surname_at(text: str, i: int) -> int:
    """Length of the surname starting at `i` (2 for compound ones), 0 if none."""
    sur = words("surnames")
    if text[i : i + 2] in sur:
        return 2
    return 1 if i < len(text) and text[i] in sur else 0


def _given_ok(chars: str) -> bool:
    return all(is_cjk(c) and c not in _STOP for c in chars)


def _common_word(name: str) -> bool:
    """True when the dictionary knows `name` as an ordinary word, not a person's name."""
    entry = lexicon().tags.get(name)
    return entry is not None and not entry[1].startswith("nr")


def _nr(word: str) -> bool:
    """True when the dictionary tags `word` as a person's name."""
    entry = lexicon().tags.get(word)
    return entry is not None and entry[1].startswith("nr")


def _plausible(name: str, s: int, *, cued: bool = False, named: bool = False) -> bool:
    if name in words("stop_names") or name in words("titles"):
        return False
    if _common_word(name) and not named:  # 姓名甘露, 宁静是我妹妹: a word, but named as a person
        return False
    # numerals make given names only after a cue (我叫张三丰); elsewhere they are counts (费一年)
    return _given_ok(name[s:]) and (cued or not any(c in _NUMERALS for c in name[s:]))


def _given_len(tokens: dict[int, int], text: str, i: int, s: int) -> int:
    """The given-name length (1 or 2) after a cue, from the segmentation and the characters."""
    a, b = text[i + s : i + s + 1], text[i + s + 1 : i + s + 2]
    if not a or not _given_ok(a):
        return 0
    if not b or not _given_ok(b):
        return 1
    if tokens.get(i, 0) == s + 2:
        return 2  # the segmenter kept the three characters together
    if b not in lexicon().given_chars:
        return 1
    # does the second character start a word of its own (王明住在 → 住在, 李强电话 → 电话)?
    nxt = tokens.get(i + s + 1, 0)
    if nxt == 2 and text[i + s + 2] in "说讲":
        return 2  # 吴志|明说: 明说 is a word, but here 明 ends the name and 说 follows it
    if nxt >= 2 and segmenter().FREQ.get(text[i + s + 1 : i + s + 1 + nxt], 0) > 0:
        return 1
    return 2


def _candidate(text: str, tokens: dict[int, int], i: int) -> Span | None:
    s = _surname_at(text, i)
    if not s or (i and text[i - 1] in "@老小阿"):
        return None
    if _title_re().match(text, i + s):
        return None  # 王阿姨, 张书记, 李总: a surname with a title is nobody in particular
    nxt = _surname_at(text, i + s)
    if nxt and _title_re().match(text, i + s + nxt):
        return None  # 和陈阿姨: 陈阿姨 is a surname with a title, 和 is not a surname here
    cued = _cue_re().search(text[max(0, i - 8) : i]) is not None
    named = _NAMING.search(text, max(0, i - 4), i) is not None or _post_cued(text, tokens, i, s)
    cued = cued or named
    if not cued and i not in tokens:
        return None  # 属于人大代表: the "surname" is the end of another word
    # a full name before a title: 李建国书记, 王芳阿姨 (not 谢谢|宋代表: 谢谢 is a word)
    first = lexicon().tags.get(text[i : i + tokens.get(i, 0)])
    word_first = first is not None and first[0] >= 100  # jieba tags 谢谢 nr too
    for g in (1, 2):
        name = text[i : i + s + g]
        if word_first and tokens.get(i, 0) < s + g:
            break
        if _full_title_re().match(text, i + s + g) and _plausible(name, s):
            return Span(i, i + s + g, "name")
    if cued:
        g = _given_len(tokens, text, i, s)
        name = text[i : i + s + g]
        if g and not named and _word_not_name(text, tokens, i, s, g):
            return None
        if g and _plausible(name, s, cued=True, named=named):
            return Span(i, i + s + g, "name")
        return None
    n = tokens.get(i, 0)
    name = text[i : i + n]
    after = tokens.get(i + n, 0)
    rare_head = segmenter().FREQ.get(text[i : i + n], 0) < 100  # 孙子|王 is a word and a surname
    # 许月|娥: a lone given character after the token ends the name, it is not a 2-char one
    tail = after == 1 and rare_head and text[i + n : i + n + 1] in lexicon().given_chars
    if n == s + 1 and not (tail and _given_ok(text[i + n])) and _two_char_name(text, tokens, i, s):
        return Span(i, i + n, "name")
    split_given = after == 2 and segmenter().FREQ.get(text[i + n : i + n + 2], 0) <= _COMMON
    # 符|海燕说, 巫|春花的: a less common surname splits off too; then a name-like word must follow
    named_next = _NAME_NEXT.match(text, i + n + after) is not None and text[i] not in _WEAK
    # 杨|光明|说: a lone surname, a common word, then 说/反映 — the word is the given name
    spoken = after == 2 and _SPEECH.match(text, i + n + 2) is not None and text[i] not in _WEAK
    split_given = split_given or (spoken and n == s == 1)
    if (
        (n == s == 2 and after in (1, 2))
        or (n == s == 1 and split_given and text[i] in words("strong_surnames"))
        or (n == s == 1 and split_given and named_next)
        or (n == s + 1 and after == 1 and rare_head)
        or (n == s + 1 and after == 2 and text[i + n + 1] == "家" and rare_head)
    ):
        n += after  # 慕容|晓雪, 杨|丽丽, 黎国|栋: the segmenter split the name; join it back
        if n > s + 1 and text[i + n - 1] == "家":
            n -= 1  # 皇甫|云家的狗: 家 is the family's, not part of the name
        name = text[i : i + n]
    if n == s + 2 or (s == 2 and n == 3):
        entry = lexicon().tags.get(name)
        # jieba tags places and famous people as nr too (石家庄, 朱自清): only rare nr entries,
        # which are ordinary people's names, or names it has never seen count here
        known = entry is None or (entry[1] == "nr" and entry[0] <= _RARE)
        head = lexicon().tags.get(name[: s + 1])  # 楼道灯: 楼道 is a word, not 楼 + a name
        ordinary = head is not None and head[0] >= 100 and not head[1].startswith("nr")
        if known and not ordinary and _free_ok(name, s):
            return Span(i, i + n, "name")
    return None


@cache
def _post_cue_re() -> re.Pattern[str]:
    people = sorted(
        (w for w in words("name_cues") if len(w) > 1 and w[0] not in "我本姓名叫签落署"),
        key=len,
        reverse=True,
    )
    rel = "|".join(re.escape(w) for w in people)
    return re.compile(rf"(?:就|也)?是(?:我|我们|我家|俺)(?:[^，,。！？\s]{{0,4}}的)?(?:{rel})")


def _post_cued(text: str, tokens: dict[int, int], i: int, s: int) -> bool:
    """宁静是我妹妹, 夏天是我们小区的业主: the words after the name say it is a person."""
    if "是" not in text[i + s + 1 : i + s + 4]:
        return False
    g = _given_len(tokens, text, i, s)
    return g > 0 and _post_cue_re().match(text, i + s + g) is not None


def _word_not_name(text: str, tokens: dict[int, int], i: int, s: int, g: int) -> bool:
    """After a cue: 我是金华人, 我是余杭的, 我是高中生, 网格员来过 — a word, not a name."""
    seg = segmenter()
    if s == 1 and text[i] in _WEAK and not _NAMING.search(text, max(0, i - 3), i):
        return True  # 师傅来修过: 来 is a surname only after 我叫, 姓名 …
    n = tokens.get(i, 0)
    if n == s + g == s + 2 and seg.FREQ.get(text[i : i + n], 0) >= 100:
        return True  # 高中生: jieba knows the whole thing as a word; ordinary names are rarer
    verb_cue = text[i - 1 : i] == "找" or text[max(0, i - 2) : i] == "通知"
    common_head = not _nr(text[i : i + n]) and seg.FREQ.get(text[i : i + n], 0) >= 100
    if verb_cue and n == s + 1 and g == 2 and common_head:
        return True  # 找房子太难: after a verb cue, a name does not run on past a word (房子)
    if text[i - 1 : i] != "是":
        return False
    # 我是余杭的, 我是金华人: after 是, a place of origin the dictionary knows, not a name
    after = text[i + s + g : i + s + g + 1]
    known = n == s + g and seg.FREQ.get(text[i : i + n], 0) > 0
    return after == "人" or (after == "的" and known)


def _two_char_name(text: str, tokens: dict[int, int], i: int, s: int) -> bool:
    """A two-character name the segmenter found on its own, with a name-like neighbour."""
    name = text[i : i + s + 1]
    if _PLACE_AFTER.match(text, i + s + 1):
        return False
    if _SPEECH.match(text, i + s + 1) or _PHONE_NEXT.match(text, i + s + 1):
        return text[i] not in _WEAK and _free_ok(name, s)  # 刘洋说…
    if (text[i] not in words("strong_surnames") and text[i] != "张") or text[i - 1 : i] in _MEASURE:
        return False  # 这张卡: a measure word, not 张
    entry = lexicon().tags.get(name)
    fresh = entry is None or (entry[1] == "nr" and entry[0] <= _TWO_RARE)  # 王芳 (not 陈旧, 柳树)
    before = text[i - 1 : i] if i else ""
    nearby = _AFTER_2.match(text, i + s + 1) is not None or before in _BEFORE_2
    return fresh and nearby and _free_ok(name, s, _TWO_RARE) and not parallel(text, tokens, i, s)


def _free_ok(name: str, s: int, rare: int = _RARE) -> bool:
    """A name written with no cue: every given character is a name character."""
    if name[s] == "家" or name[-1] in _FREE_PLACE_END:
        return False  # 邓家, 孙家埠, 袁家岭, 柯桥: a family or a place
    entry = lexicon().tags.get(name)
    known = entry is None or (entry[1] == "nr" and entry[0] <= rare)
    given = all(c in lexicon().given_chars for c in name[s:])
    return known and given and _plausible(name, s)


_PROVINCES = frozenset("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")


def _into_plate(norm: str, end: int) -> bool:
    """True when the name's last character starts a licence plate (车牌浙A…, 浙 A…)."""
    return norm[end - 1] in _PROVINCES and re.match(r" ?[A-Za-z]", norm[end : end + 2]) is not None


_PLACE_END = frozenset("苑园村庄府城湾路街巷区镇乡县市省店厂")
_PLACE_AFTER = re.compile(
    r"(?:小区|花园|家园|新村|公寓|社区|大厦|广场|路|街|村|苑|园|区|县|市|镇|乡)"
)


def _a_place(text: str, span: Span) -> bool:
    """True for an estate or street that starts with a surname (桂花苑, 金色家园, 李家村)."""
    return text[span.end - 1] in _PLACE_END or _PLACE_AFTER.match(text, span.end) is not None


def tokenize(text: str) -> dict[int, int]:
    """jieba's tokens of `text` as start offset -> length."""
    return {start: end - start for _w, start, end in segmenter().tokenize(text, HMM=True)}


def surname_starts(text: str) -> list[int]:
    """Offsets where a surname (single or compound) starts."""
    sur = words("surnames")
    return [i for i, ch in enumerate(text) if ch in sur or text[i : i + 2] in sur]


def acceptable(text: str, norm: str, span: Span) -> bool:
    """False for a name that runs into a plate, is a place, or touches masked text."""
    if _into_plate(norm, span.end) or _a_place(text, span):
        return False
    # next to masked text (王**, 138****): its edges are not a name's
    return "*" not in text[span.start - 1 : span.start] + text[span.end : span.end + 1]


def find_names(text: str, norm: str, tokens: dict[int, int], starts: list[int]) -> Iterator[Span]:
    """Full names of natural people (2–4 characters), without cue words or titles."""
    taken = -1
    for i in starts:
        if i < taken:
            continue
        span = _candidate(text, tokens, i)
        if span and acceptable(text, norm, span):
            taken = span.end
            yield span
