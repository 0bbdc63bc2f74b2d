"""What the words just before a number say about it."""

from __future__ import annotations

import re
from functools import cache

from handlers.privacy.lexicon import alternation

# between a label and its number: punctuation, spaces, 是/为, 号/码 and a few fillers
_GAP = r"[\s:：,，#＃\-—是为号码的(（)）]{0,4}"


@cache
def _label_re(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{alternation(name)}){_GAP}$")


def labelled(norm: str, start: int, name: str, window: int = 14) -> bool:
    """True when the text just before `start` ends with a word of data/<name>.txt."""
    return _label_re(name).search(norm[max(0, start - window) : start]) is not None


def non_personal_label(norm: str, start: int) -> bool:
    """True when the number at `start` is labelled as an order, refund, meter … number."""
    return labelled(norm, start, "nonpersonal_labels")
