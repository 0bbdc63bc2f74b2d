"""Names in lists (张丽华、李国强, 卓文和聂晓丽): a name's neighbours across 、/和 are names too."""

from __future__ import annotations

import re

from handlers.privacy.model import lexicon
from handlers.privacy.names import (
    _given_len,
    _plausible,
    _surname_at,
    _title_re,
    acceptable,
    find_names,
    surname_starts,
    tokenize,
)
from handlers.privacy.spans import Span
from handlers.privacy.text import is_cjk

_SEP = re.compile(r"[、和与及跟]")
_LIST_ONLY = "、"  # only this separator joins two full names with no name found yet


def _member(text: str, i: int, s: int, g: int) -> bool:
    """text[i:i+s+g] is a surname + given name that could stand in a list of people."""
    name = text[i : i + s + g]
    if len(name) != s + g or not all(is_cjk(c) for c in name):
        return False
    if _title_re().match(text, i + s) or (i and text[i - 1] in "@老小阿"):
        return False
    given = all(c in lexicon().given_chars for c in name[s:])
    return given and _plausible(name, s, cued=True)


def _right(text: str, tokens: dict[int, int], i: int) -> Span | None:
    s = _surname_at(text, i)
    if not s:
        return None
    g = _given_len(tokens, text, i, s)
    return Span(i, i + s + g, "name") if g and _member(text, i, s, g) else None


def _left(text: str, tokens: dict[int, int], p: int) -> Span | None:
    """The name that ends just before the separator at `p`, if one does."""
    for s, g in ((1, 2), (2, 2), (2, 1), (1, 1)):
        i = p - s - g
        if i < 0 or _surname_at(text, i) != s:
            continue
        bounded = i == 0 or not is_cjk(text[i - 1]) or i in tokens
        if bounded and _member(text, i, s, g):
            return Span(i, p, "name")
    return None


def find_all_names(text: str, norm: str) -> list[Span]:
    """Names found by the rules of names.py, then their neighbours in lists."""
    starts = surname_starts(text)
    if not starts:
        return []
    tokens = tokenize(text)
    found = list(find_names(text, norm, tokens, starts))
    seps = [m.start() for m in _SEP.finditer(text)]
    for _ in range(3):  # 章海军、章海民、章海英: each round reaches one further
        ends = {s.end: s for s in found}
        begins = {s.start: s for s in found}
        added: list[Span] = []
        for p in seps:
            left, right = ends.get(p), begins.get(p + 1)
            if left and right:
                continue
            new_left = left or _left(text, tokens, p)
            new_right = right or _right(text, tokens, p + 1)
            if not (new_left and new_right):
                continue
            seeded = left is not None or right is not None
            full = min(new_left.end - new_left.start, new_right.end - new_right.start) >= 3
            if not seeded and not (text[p] in _LIST_ONLY and full):
                continue
            for span in (new_left, new_right):
                if span not in found and acceptable(text, norm, span):
                    added.append(span)
        taken = {k for s in found for k in range(s.start, s.end)}
        fresh = [s for s in set(added) if not taken.intersection(range(s.start, s.end))]
        if not fresh:
            break
        found = sorted(found + fresh)
    return found
