"""Mobile, landline, resident ID and bank-card numbers (on normalised text)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from handlers.privacy.checks import luhn_ok, valid_id_card
from handlers.privacy.context import labelled, non_personal_label
from handlers.privacy.lexicon import words
from handlers.privacy.spans import Span
from handlers.privacy.text import digits_of

_NB = r"(?<![0-9A-Za-z*])"  # no alphanumeric before: not inside a tracking or order code
_NA = r"(?![0-9A-Za-z*])"
_SEP = r"[ \-]?"

MOBILE = re.compile(
    rf"{_NB}(?:(?:\+|00)86{_SEP}|\(\+?86\){_SEP}|86-)?1[3-9]\d(?:{_SEP}\d){{8}}{_NA}"
)
_SPOKEN = "0-9零〇洞一幺二两三四五六七八九"
SPOKEN_MOBILE = re.compile(
    rf"(?<![{_SPOKEN}*])[1一幺][3-9三四五六七八九](?:{_SEP}[{_SPOKEN}]){{9}}(?![{_SPOKEN}*])"
)
LANDLINE = re.compile(
    rf"{_NB}(?:\(0\d{{2,3}}\){_SEP}|0\d{{2,3}}[ \-])[2-9]\d{{2,3}}{_SEP}\d{{4}}{_NA}"
    rf"|{_NB}0\d{{9,11}}{_NA}"
)
LOCAL8 = re.compile(rf"{_NB}[2-9]\d{{3}}{_SEP}\d{{4}}{_NA}")
ID_CARD = re.compile(rf"{_NB}[1-8]\d{{5}} ?(?:18|19|20)\d{{2}}[01]\d[0-3]\d ?\d{{3}}[\dXx]{_NA}")
BANK_CARD = re.compile(rf"{_NB}[3-69]\d{{3}}(?:[ \-]?\d{{4}}){{3}}(?:[ \-]?\d{{3}})?{_NA}")


def _public(norm: str, start: int, digits: str) -> bool:
    return digits in words("hotlines") or non_personal_label(norm, start)


def _valid_local(digits: str) -> bool:
    """An area code (010, 02x, 0xxx) then a 7- or 8-digit local number starting 2-9."""
    if digits[1] == "1" and digits[2] != "0":
        return False  # 010 is the only area code starting 01 (0123456789 is an account)
    area = 3 if digits[1] in "12" else 4
    local = digits[area:]
    return len(local) in (7, 8) and local[0] in "23456789"


def find_mobiles(norm: str) -> Iterator[Span]:
    """Mobile numbers: 1[3-9] + 9 digits, separators, +86, full-width or spoken digits."""
    for rx in (MOBILE, SPOKEN_MOBILE):
        for m in rx.finditer(norm):
            if rx is SPOKEN_MOBILE and m.group().isascii():
                continue  # plain digits are MOBILE's; only spoken ones here
            if not _public(norm, m.start(), digits_of(m.group())):
                yield Span(m.start(), m.end(), "mobile")


def find_landlines(norm: str) -> Iterator[Span]:
    """Landlines with an area code, or an 8-digit local number written as a phone."""
    for m in LANDLINE.finditer(norm):
        digits = digits_of(m.group())
        if _valid_local(digits) and not _public(norm, m.start(), digits):
            yield Span(m.start(), m.end(), "landline")
    for m in LOCAL8.finditer(norm):
        if labelled(norm, m.start(), "phone_cues", window=10) and not _public(
            norm, m.start(), digits_of(m.group())
        ):
            yield Span(m.start(), m.end(), "landline")


def find_id_cards(norm: str) -> Iterator[Span]:
    """18-character resident IDs with a valid birth date and MOD 11-2 check character."""
    for m in ID_CARD.finditer(norm):
        if valid_id_card(m.group().replace(" ", "")) and not non_personal_label(norm, m.start()):
            yield Span(m.start(), m.end(), "id_card")


def _grouped(number: str) -> bool:
    """Unseparated, or separated in groups of four (the last may be three)."""
    groups = re.split(r"[ \-]", number)
    return len(groups) == 1 or all(len(g) == 4 for g in groups[:-1])


def find_bank_cards(norm: str) -> Iterator[Span]:
    """16- or 19-digit Luhn-valid card numbers, plain or grouped by four."""
    for m in BANK_CARD.finditer(norm):
        digits = digits_of(m.group())
        if (
            len(digits) in (16, 19)
            and _grouped(m.group())
            and luhn_ok(digits)
            and not non_personal_label(norm, m.start())
        ):
            yield Span(m.start(), m.end(), "bank_card")
