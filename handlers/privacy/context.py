"""What the words just before a number say about it."""

from __future__ import annotations

import re
from functools import cache

from handlers.privacy.lexicon import alternation

# between a label and its number: punctuation, spaces, 是/为, 号/码 and a few fillers
_GAP = r"[\s:：,，#＃\-—是为号码的(（)）]{0,4}"
# what may follow a label's head word before the gap: 退款单, 快递单, 订单编码, 订单ID, 退款流水
_QUALIFIER = r"(?:单据|单)?(?:编码|流水|[Ii][Dd]|[Nn][Oo]\.?)?"


@cache
def _label_re(name: str, qualified: bool = False) -> re.Pattern[str]:
    qualifier = _QUALIFIER if qualified else ""
    return re.compile(rf"(?:{alternation(name)}){qualifier}{_GAP}$")


def labelled(
    norm: str, start: int, name: str, window: int = 14, *, qualified: bool = False
) -> bool:
    """True when the text just before `start` ends with a word of data/<name>.txt."""
    rx = _label_re(name, qualified)
    return rx.search(norm[max(0, start - window) : start]) is not None


def non_personal_label(norm: str, start: int) -> bool:
    """True when the number at `start` is labelled as an order, refund, meter … number."""
    return labelled(norm, start, "nonpersonal_labels", qualified=True)
