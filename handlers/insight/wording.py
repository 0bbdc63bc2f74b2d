"""Lexicon-free wording similarity: how alike two reports' own words are.

The object/fault lexicon (`problems.yaml`) only knows the problems someone listed. This
module compares what is left of two messages once place names and request words are cut out,
without any list of problem words: jieba's content words and the characters and character
bigrams of the text, each weighted by how rare it is in complaint text (inverse document
frequency over the shipped category examples, so 小区, 晚上, 老人 weigh little and 水箱,
野猪, 减速带 — words no example uses — weigh most), compared by cosine.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable

from handlers.insight.data_files import load_jsonl
from handlers.insight.normalise import compact

# characters that carry no problem on their own (particles, pronouns, degree words, digits)
_STOP_CHARS = frozenset("的了吗呢吧啊呀嘛哦么很太都也还又就是在有我们你他她它这那个一些把被给让")
_HAN = re.compile(r"[\u4e00-\u9fffA-Za-z]")


def _segment(text: str) -> list[str]:
    from handlers.privacy.model import segmenter  # jieba, loaded once per process

    # search mode adds the dictionary words inside long ones: 塑胶跑道 → 塑胶, 跑道, 塑胶跑道
    return [t for t in segmenter().lcut_for_search(text, HMM=True) if t.strip()]


def content_words(text: str) -> frozenset[str]:
    """jieba words of two or more characters that are not made of stop characters only."""
    out = set()
    for token in _segment(text):
        word = token.strip()
        if len(word) >= 2 and _HAN.match(word) and not all(c in _STOP_CHARS for c in word):
            out.add(word.lower())
    return frozenset(out)


def content_chars(grams: Iterable[str]) -> frozenset[str]:
    """The characters of a message's bigrams, less the stop characters."""
    return frozenset(c for g in grams for c in g if c not in _STOP_CHARS)


@functools.cache
def _document_frequency() -> tuple[int, dict[str, int]]:
    # the shipped examples are the corpus: what is common in complaints weighs little
    df: Counter[str] = Counter()
    rows = load_jsonl("category_examples.jsonl")
    for row in rows:
        flat = compact(str(row["text"]))
        units = {flat[i : i + 2] for i in range(len(flat) - 1)} | set(flat)
        df.update(units)
    return len(rows), dict(df)


def weight(unit: str) -> float:
    """Inverse document frequency of a character, bigram or word (unseen: the highest)."""
    n, df = _document_frequency()
    return math.log((n + 1) / (df.get(unit, 0) + 1)) + 1.0


def cosine(a: Iterable[str], b: Iterable[str]) -> float:
    """Cosine of two sets of units under `weight` (binary term frequency)."""
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    shared = sum(weight(u) ** 2 for u in sa & sb)
    if not shared:
        return 0.0
    na = math.sqrt(sum(weight(u) ** 2 for u in sa))
    nb = math.sqrt(sum(weight(u) ** 2 for u in sb))
    return shared / (na * nb)


def similarity(
    grams_a: frozenset[str],
    words_a: frozenset[str],
    grams_b: frozenset[str],
    words_b: frozenset[str],
) -> float:
    """Wording similarity in [0, 1]: words and bigrams, then single characters, by IDF cosine."""
    terms = cosine(grams_a | words_a, grams_b | words_b)
    chars = cosine(content_chars(grams_a), content_chars(grams_b))
    return round(0.7 * terms + 0.3 * chars, 4)


@functools.cache
def _word_frequency() -> tuple[int, dict[str, int]]:
    df: Counter[str] = Counter()
    rows = load_jsonl("category_examples.jsonl")
    for row in rows:
        df.update(content_words(compact(str(row["text"]))))
    return len(rows), dict(df)


def word_weight(word: str) -> float:
    """How telling a shared word is, in [0, 1]: 1 for a word no shipped example uses."""
    n, df = _word_frequency()
    top = math.log(n + 1) + 1.0
    return (math.log((n + 1) / (df.get(word, 0) + 1)) + 1.0) / top


ANCHOR_MIN = 0.7  # a word few examples use: 孩子, 老人, 晚上 say nothing of the problem
GENERAL_MIN = 10.5  # -log of jieba's word frequency: rare in Chinese at large too (现在 7.5)


def general_rarity(word: str) -> float:
    """-log of the word's relative frequency in jieba's dictionary (unknown: the rarest)."""
    from handlers.privacy.model import segmenter

    dt = segmenter()
    return math.log(dt.total / (dt.FREQ.get(word, 0) + 1))


def anchor(words_a: frozenset[str], words_b: frozenset[str]) -> float:
    """The weight of the most telling rare content word both messages use (0 when none)."""
    rare = [
        word_weight(w)
        for w in words_a & words_b
        if word_weight(w) >= ANCHOR_MIN and general_rarity(w) >= GENERAL_MIN
    ]
    return max(rare, default=0.0)


def boundaries(text: str) -> frozenset[int]:
    """Offsets in `text` where jieba starts a word (and its end)."""
    cuts, at = {0, len(text)}, 0
    for token in _segment_all(text):
        at += len(token)
        cuts.add(at)
    return frozenset(cuts)


def straddles(start: int, end: int, cuts: frozenset[int]) -> bool:
    """A match that begins inside one word and ends inside another (停电 in 乱停|电瓶车)."""
    if end - start < 2 or start in cuts or end in cuts:
        return False
    return any(start < c < end for c in cuts)


def _segment_all(text: str) -> list[str]:
    from handlers.privacy.model import segmenter

    return list(segmenter().cut(text, HMM=True))
