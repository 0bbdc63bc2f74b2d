"""How each type of personal data is masked (configurable per type)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from handlers.privacy.lexicon import words
from handlers.privacy.text import SPOKEN_DIGITS, normalise

Masker = Callable[[str], str]
STAR = "*"


def _digit_positions(s: str) -> list[int]:
    norm = normalise(s)
    return [i for i, c in enumerate(norm) if (c.isascii() and c.isalnum()) or c in SPOKEN_DIGITS]


def keep_ends(head: int, tail: int) -> Masker:
    """Keep the first `head` and last `tail` digits/letters, star the rest, keep separators."""

    def mask(s: str) -> str:
        pos = _digit_positions(s)
        hidden = set(pos[head : len(pos) - tail if tail else None])
        return "".join(STAR if i in hidden else c for i, c in enumerate(s))

    return mask


def mask_mobile(s: str) -> str:
    """138****1234: a +86/0086 prefix and the first 3 and last 4 digits stay."""
    pos = _digit_positions(s)
    skip = len(pos) - 11  # the 86 / 0086 prefix digits
    hidden = set(pos[skip + 3 : skip + 7])
    return "".join(STAR if i in hidden else c for i, c in enumerate(s))


def mask_landline(s: str) -> str:
    """0579-****6617: the area code and the last 4 digits stay."""
    norm = normalise(s).lstrip("(")
    if not norm.startswith("0"):
        return keep_ends(0, 4)(s)  # a local number
    return keep_ends(3 if norm[1:2] in ("1", "2") else 4, 4)(s)


def mask_plate(s: str) -> str:
    """浙A·***16: the province, the letter and the last 2 characters stay."""
    keep = 3 if s[1:2].isspace() else 2  # 浙 A12345: the space before the letter stays
    return s[:keep] + "".join(STAR if c.isalnum() else c for c in s[keep:-2]) + s[-2:]


def mask_name(s: str) -> str:
    """张**: the surname (compound ones too) stays, the given name is starred."""
    keep = 2 if len(s) > 2 and s[:2] in words("surnames") else 1
    return s[:keep] + STAR * (len(s) - keep)


def mask_email(s: str) -> str:
    """z***@qq.com: the first character of the local part and the domain stay."""
    local, _, domain = s.partition("@")
    return local[:1] + STAR * (len(local) - 1) + "@" + domain


_ROOM = re.compile(r"([0-9零〇一二三四五六七八九]+)(室|号|房|户)?$")


def mask_address(s: str) -> str:
    """3幢2单元***室: the estate, building and unit stay, the room or house number is starred."""
    norm = normalise(s)
    m = _ROOM.search(norm)
    if not m:
        return re.sub(r"\d", STAR, s)  # no trailing number: star every digit
    a, b = m.span(1)
    return s[:a] + STAR * (b - a) + s[b:]


def _defaults() -> dict[str, Masker]:
    return {
        "mobile": mask_mobile,
        "landline": mask_landline,
        "id_card": keep_ends(6, 4),
        "bank_card": keep_ends(0, 4),
        "plate": mask_plate,
        "name": mask_name,
        "address": mask_address,
        "email": mask_email,
    }


def _constant(tag: str) -> Masker:
    return lambda _s: tag


def _all_stars(s: str) -> str:
    return STAR * len(s)


PLACEHOLDERS = {
    "mobile": "[手机号]",
    "landline": "[电话]",
    "id_card": "[身份证号]",
    "plate": "[车牌]",
    "name": "[姓名]",
    "address": "[住址]",
    "bank_card": "[银行卡号]",
    "email": "[邮箱]",
}


@dataclass(frozen=True)
class MaskStyle:
    """Per-type masking functions; unknown types fall back to starring the whole span."""

    maskers: Mapping[str, Masker] = field(default_factory=_defaults)

    @classmethod
    def placeholders(cls) -> MaskStyle:
        """Replace every span by a tag such as [手机号]."""
        return cls({t: _constant(p) for t, p in PLACEHOLDERS.items()})

    @classmethod
    def stars(cls) -> MaskStyle:
        """Star every character of every span."""
        return cls(dict.fromkeys(PLACEHOLDERS, _all_stars))

    def apply(self, kind: str, s: str) -> str:
        """The masked form of `s`, a span of type `kind`."""
        fn = self.maskers.get(kind)
        return fn(s) if fn else STAR * len(s)
