"""Clean WeChat input for matching: width, stickers, emoji, voice fillers, input slips.

The result is for the machine (places, category, similarity); the case keeps the text as sent.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from handlers.insight.data_files import load_yaml

_STICKER = re.compile(r"\[[\u4e00-\u9fffA-Za-z]{1,8}\]|/:[A-Za-z!?@#$%^&*]{1,8}")
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\u2b00-\u2bff"
    "\ufe0f\u200d\u20e3]"
)
_PUNCT = re.compile(r"[\s,.!?;:~…，。！？；：、·'\"“”‘’（）()【】<>《》\-—_=+*/\\|]+")
_REPEAT = re.compile(r"(.)\1{2,}")


@functools.cache
def _tables() -> tuple[re.Pattern[str], dict[str, str], re.Pattern[str]]:
    data = load_yaml("normalise.yaml")
    slips: dict[str, str] = dict(data["slips"])
    slip_re = re.compile("|".join(re.escape(k) for k in sorted(slips, key=len, reverse=True)))
    fillers = sorted(data["fillers"], key=len, reverse=True)
    # a filler is dropped when it stands between pauses or at the edge of a clause
    filler_re = re.compile(
        r"(?:(?<=\s)|(?<=^))(?:" + "|".join(re.escape(f) for f in fillers) + r")(?=\s|$)"
    )
    return slip_re, slips, filler_re


def normalise(text: str) -> str:
    """Text with full-width folded, stickers/emoji removed, slips fixed, pauses as spaces."""
    slip_re, slips, filler_re = _tables()
    text = unicodedata.normalize("NFKC", text)
    text = _STICKER.sub(" ", text)
    text = _EMOJI.sub(" ", text)
    text = _PUNCT.sub(" ", text)
    text = slip_re.sub(lambda m: slips[m.group(0)], text)
    for _ in range(2):  # fillers next to each other (嗯 就是)
        text = filler_re.sub(" ", text)
    text = _REPEAT.sub(r"\1\1", text)
    return " ".join(text.split())


def compact(text: str) -> str:
    """Normalised text without spaces (what substring matching looks at)."""
    return normalise(text).replace(" ", "")
