"""Text normalisation that keeps every code point in place (offsets stay valid)."""

from __future__ import annotations

# full-width ASCII (！…～) to ASCII, ideographic space to space, dash look-alikes to "-"
_TABLE: dict[int, int] = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_TABLE.update({0x3000: 0x20, 0x00A0: 0x20, 0x2014: 0x2D, 0x2013: 0x2D, 0x2010: 0x2D})
_TABLE.update({0x2012: 0x2D, 0x2212: 0x2D, 0xFE63: 0x2D})

SPOKEN_DIGITS = {
    "零": "0",
    "〇": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}


def normalise(text: str) -> str:
    """Full-width digits, letters and punctuation as ASCII; same length as `text`."""
    return text.translate(_TABLE)


def digits_of(s: str) -> str:
    """The digits of `s` (ASCII, full-width or spoken Chinese), separators dropped."""
    out = []
    for ch in normalise(s):
        if ch.isascii() and ch.isdigit():
            out.append(ch)
        elif ch in SPOKEN_DIGITS:
            out.append(SPOKEN_DIGITS[ch])
        elif ch in "Xx":
            out.append("X")
    return "".join(out)


def is_cjk(ch: str) -> bool:
    """True for a CJK unified ideograph."""
    return "\u4e00" <= ch <= "\u9fff"
