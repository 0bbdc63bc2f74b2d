"""Household addresses: building + unit + room, or a home's house number."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from handlers.privacy.context import non_personal_label
from handlers.privacy.lexicon import alternation
from handlers.privacy.spans import Span

_N = r"[0-9一二三四五六七八九十]{1,3}"
_NB = r"(?<![0-9A-Za-z\-*])(?<![0-9*] )"
_NOT_AFTER_ROOM = r"(?![0-9A-Za-z*元块米平斤个人天年次多余万千度吨件页:：.点])"
# a room: digits, spoken digits before 室, or digits with a spoken zero (3零2, 12零1)
_ROOM = (
    rf"(?:\d{{3,4}}|[零〇一二三四五六七八九]{{3,4}}(?=室)|\d{{1,2}}[零〇]\d{{1,2}})"
    rf"{_NOT_AFTER_ROOM}(?:室|号|房|户)?"
)
# 3幢2单元501室, 3栋502, 8号楼1单元1102, A座1203室, 5#302
FULL = re.compile(
    rf"{_NB}(?:{_N}|[A-Za-z])(?:幢|栋|号楼|座|号|#|楼)(?:(?:{_N}|[东西中南北])单元)?-?{_ROOM}"
    rf"|{_NB}{_N}单元-?{_ROOM}"
)
DASHED = re.compile(
    rf"{_NB}\d{{1,3}}-\d{{1,2}}-\d{{3,4}}(?![0-9\-*])室?|{_NB}\d{{1,3}}-\d{{3,4}}(?![0-9\-*])室?"
)
ROOM_ONLY = re.compile(rf"{_NB}\d{{3,4}}室")
# a house number, not followed by a building, unit or room (they make it a FULL address)
HOUSE = re.compile(
    r"(?:村|组|路|街|巷|弄|胡同|里|大道)(\d{1,4})号"
    r"(?![楼院幢栋*\-]|\d|[一二三四五六七八九十A-Za-z]{1,3}(?:幢|栋|号楼|单元|座))"
)
_CHAIN = re.compile(r"(?:\d{1,4}(?:弄|支弄|巷|号院|院|号|组|队|期|区))+$")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{1,12}$")
# words a place name never starts before (住在阳光花园 → 阳光花园; 西湖区阳光花园 → 阳光花园)
_BOUNDARY = re.compile(
    r".*(?:住在|位于|地址|住址|家住|我家|在|住|是|的|于|到|我|们|省|市|县|(?<![一二三四五六七八九十东西南北中])区|镇|乡|街道|旁边|对面|室|幢|栋|单元)"
)


@cache
def _suffix_re() -> re.Pattern[str]:
    return re.compile(rf"(?:{alternation('estate_suffixes')})$")


def _place_start(norm: str, pos: int) -> int | None:
    """Start of the estate/village/street name ending at `pos`, if one is written there."""
    chain = _CHAIN.search(norm, max(0, pos - 12), pos)
    if chain and chain.start() < pos:  # 新华路18弄|6号402室, 下王村3组|15号
        pos = chain.start()
    run = _CJK_RUN.search(norm[max(0, pos - 12) : pos])
    if not run:
        return None
    name = run.group()
    suffix = _suffix_re().search(name)
    if not suffix:
        return None
    core = name[: suffix.start()]
    cut = _BOUNDARY.match(core)
    core = core[cut.end() :] if cut else core
    if not core:
        return None
    return pos - len(core) - len(suffix.group())


def _home_before(norm: str, start: int) -> bool:
    """True when a home cue (我家, 家住, 住址 …) is written shortly before, in the same clause."""
    home = alternation("home_cues")
    return (
        re.search(rf"(?:{home})[^，,。；;！!？?]{{0,8}}$", norm[max(0, start - 14) : start])
        is not None
    )


def _shop_after(norm: str, end: int) -> bool:
    return (
        re.search(rf"^.{{0,6}}?(?:{alternation('shop_words')})", norm[end : end + 12]) is not None
    )


def _public_before(norm: str, start: int) -> bool:
    """True when a shop or public place is named just before (服务中心三楼301室)."""
    shop = alternation("shop_words")
    return (
        re.search(rf"(?:{shop})[^，,。；;！!？?\s]{{0,6}}$", norm[max(0, start - 12) : start])
        is not None
    )


def _span(norm: str, start: int, end: int) -> Span | None:
    if _public_before(norm, start):
        return None
    place = _place_start(norm, start)
    return Span(place if place is not None else start, end, "address")


# 二楼203, 3楼302: a floor and a room; without an estate name it is an office or a shop
_FLOOR = re.compile(rf"{_N}楼(?!\d{{1,2}}单元)")
# 灵江路33号是我家: a home word just after the house number
_HOME_AFTER = re.compile(
    r"(?:就|也|都)?是(?:我|我们|他|她|他们|她们|俺)(?:的|们的)?(?:家|老房子|房子|住处|老家)"
)


def _floor_only(norm: str, m: re.Match[str]) -> bool:
    return _FLOOR.match(norm, m.start()) is not None and _place_start(norm, m.start()) is None


def find_addresses(norm: str) -> Iterator[Span]:
    """Household addresses, starting at the estate or street name written before them."""
    for m in FULL.finditer(norm):
        if _floor_only(norm, m) or non_personal_label(norm, m.start()):
            continue
        if span := _span(norm, m.start(), m.end()):
            yield span
    for rx in (DASHED, ROOM_ONLY):
        for m in rx.finditer(norm):
            homely = _place_start(norm, m.start()) is not None or _home_before(norm, m.start())
            triple = m.group().count("-") == 2
            if (
                (homely or triple or m.group().endswith("室"))
                and not non_personal_label(norm, m.start())
                and (span := _span(norm, m.start(), m.end()))
            ):
                yield span
    for m in HOUSE.finditer(norm):
        place = _place_start(norm, m.start(1))
        if place is None or _shop_after(norm, m.end()):
            continue
        village = norm[m.start()] in "村组弄巷里" or norm[m.start() : m.start() + 2] == "胡同"
        if village or _home_before(norm, place) or _HOME_AFTER.match(norm, m.end()):
            yield Span(place, m.end(), "address")
