"""jieba's segmenter and dictionary (shipped inside the jieba wheel), loaded lazily once."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from handlers.privacy.lexicon import words

_lock = threading.RLock()


@dataclass(frozen=True)
class Lexicon:
    """What the dictionary says about words that start with a surname."""

    tags: dict[str, tuple[int, str]]  # word -> (frequency, part of speech)
    given_chars: frozenset[str]  # characters seen in the given part of dictionary names


@cache
def segmenter() -> Any:
    """jieba's default tokenizer, initialised (about a second, once per process)."""
    with _lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.dt.initialize()
        return jieba.dt


def warm_up() -> None:
    """Load jieba and the name lexicon now (≈ 1.3 s of CPU), not in the first masking job."""
    segmenter()
    lexicon()


@cache
def lexicon() -> Lexicon:
    """Parts of speech of surname-initial words, and given-name characters, from dict.txt."""
    surnames = words("surnames")
    firsts = {s[0] for s in surnames}
    tags: dict[str, tuple[int, str]] = {}
    given: Counter[str] = Counter()
    text = resources.files("jieba").joinpath("dict.txt").read_text("utf-8")
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) != 3 or parts[0][0] not in firsts or not 2 <= len(parts[0]) <= 4:
            continue
        word, freq, tag = parts
        tags[word] = (int(freq), tag)
        if tag == "nr" and len(word) == 3 and word[0] in surnames:
            given.update(word[1:])
    return Lexicon(tags, frozenset(c for c, n in given.items() if n >= 3))
