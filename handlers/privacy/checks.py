"""Checksums: resident ID (GB 11643, MOD 11-2 and birth date) and Luhn."""

from __future__ import annotations

import datetime as dt

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits of a resident ID."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def valid_id_card(number: str, today: dt.date | None = None) -> bool:
    """True for an 18-character resident ID with a valid birth date and check character."""
    n = number.upper()
    if len(n) != 18 or not n[:17].isdigit() or n[0] not in "12345678":
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > (today or dt.date.today()):
        return False
    return id_check_char(n[:17]) == n[17]


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0
