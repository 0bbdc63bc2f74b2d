"""The caller's phone as a keyed hash, and scrubbing the caller's own name and phone from text."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_STAR = "*"
_GAP = r"[\s\-－—.·]*"
_GAPS = re.compile(_GAP)


def normalise_phone(raw: str) -> str:
    """Digits only, full-width folded, a +86 / 0086 / 86 prefix of a mobile dropped."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", raw))
    for prefix in ("0086", "86"):
        if (
            digits.startswith(prefix)
            and len(digits) == len(prefix) + 11
            and digits[len(prefix)] == "1"
        ):
            return digits[len(prefix) :]
    return digits


def caller_hash(key: bytes, raw_phone: str) -> str | None:
    """HMAC-SHA256 (hex) of the normalised phone; None when the cell holds no digits."""
    phone = normalise_phone(raw_phone)
    if len(phone) < 5:  # "无", "-", an extension alone: nothing that identifies a caller
        return None
    return hmac.new(key, phone.encode("ascii"), hashlib.sha256).hexdigest()


def scrub_known(text: str, name: str, phone: str) -> str:
    """`text` with the caller's own name and phone starred, however the phone is spaced.

    The masker finds personal data in general; this also catches the one name and number we
    know for certain belong to this caller (a name it might not recognise as one).
    """
    digits = normalise_phone(phone)
    # the cheap test first: the number (however spaced) is usually already masked away
    if len(digits) >= 7 and digits in _GAPS.sub("", text):
        pattern = re.compile(r"(?<!\d)" + _GAP.join(digits) + r"(?!\d)")
        text = pattern.sub(lambda m: _star_digits(m.group(), keep_head=3, keep_tail=4), text)
    name = name.strip()
    if 2 <= len(name) <= 6 and not name.isascii():
        text = text.replace(name, name[0] + _STAR * (len(name) - 1))
    return text


def _star_digits(s: str, keep_head: int, keep_tail: int) -> str:
    positions = [i for i, c in enumerate(s) if c.isdigit()]
    hidden = set(positions[keep_head : len(positions) - keep_tail])
    return "".join(_STAR if i in hidden else c for i, c in enumerate(s))
