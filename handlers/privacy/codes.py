"""Licence plates and e-mail addresses (on normalised text)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from handlers.privacy.spans import Span

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Za-hj-np-z"  # plates never use I or O
_SUFFIX = "学警挂港澳领试"  # driving-school, police, trailer, HK/Macau … plates end in one of these
PLATE = re.compile(
    rf"[{_PROVINCES}] ?[{_L}][·•・.\- ]?([{_L}0-9]{{4}}[{_SUFFIX}]|[{_L}0-9]{{5,6}})"
    r"(?![0-9A-Za-z*])"
)
EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
    r"\.[A-Za-z]{2,10}(?![A-Za-z0-9])"
)


def _plate_tail_ok(tail: str) -> bool:
    """Five characters with a digit, or six (new-energy) with D/F first or last."""
    if not any(c.isdigit() for c in tail):
        return False
    if len(tail) == 5:
        return tail[-1] not in _SUFFIX or any(c.isdigit() for c in tail[:4])
    t = tail.upper()
    return (t[0] in "DF" and t[1:].isalnum()) or (t[5] in "DF" and t[:5].isdigit())


def find_plates(norm: str) -> Iterator[Span]:
    """Licence plates: province + letter + 5 characters (new-energy: 6), `·`/space/none."""
    for m in PLATE.finditer(norm):
        if _plate_tail_ok(m.group(1)):
            yield Span(m.start(), m.end(), "plate")


def find_emails(norm: str) -> Iterator[Span]:
    """E-mail addresses, QQ numeric ones included."""
    for m in EMAIL.finditer(norm):
        yield Span(m.start(), m.end(), "email")
