"""Find personal data in Chinese text and mask it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from handlers.privacy.addresses import find_addresses
from handlers.privacy.codes import find_emails, find_plates
from handlers.privacy.name_lists import find_all_names
from handlers.privacy.numbers import find_bank_cards, find_id_cards, find_landlines, find_mobiles
from handlers.privacy.spans import Span
from handlers.privacy.style import MaskStyle
from handlers.privacy.text import normalise

__all__ = ["MaskResult", "MaskStyle", "Span", "find_spans", "mask", "mask_text"]

Detector = Callable[[str], Iterable[Span]]
# on overlap the longer span wins; on equal length, the earlier type in this list
_DETECTORS: tuple[Detector, ...] = (
    find_id_cards,
    find_bank_cards,
    find_emails,
    find_mobiles,
    find_landlines,
    find_plates,
    find_addresses,
)
_PRIORITY = {"id_card": 0, "bank_card": 1, "email": 2, "mobile": 3, "landline": 4}
_PRIORITY.update({"plate": 5, "address": 6, "name": 7})


@dataclass(frozen=True)
class MaskResult:
    """The masked text and the spans found, as offsets into the original text."""

    text: str
    spans: list[Span]


def _resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans, sorted: longer first, then by type priority."""
    chosen: list[Span] = []
    taken: set[int] = set()
    ordered = sorted(
        set(_addresses_after_numbers(list(spans))),
        key=lambda s: (s.start - s.end, _PRIORITY[s.type], s.start),
    )
    for s in ordered:
        if not taken.intersection(range(s.start, s.end)):
            chosen.append(s)
            taken.update(range(s.start, s.end))
    return sorted(chosen)


_NUMBERS = ("mobile", "landline", "id_card", "bank_card")


def _addresses_after_numbers(spans: list[Span]) -> Iterator[Span]:
    """Spans, with each address that swallowed a phone or card number cut to what follows it.

    No address holds such a number, but the village and road patterns read whatever precedes
    村/路 as a name (「手机一五九…八村12-2-601」): the number is the number, the rest the address.
    """
    numbers = [s for s in spans if s.type in _NUMBERS]
    for s in spans:
        if s.type == "address":
            for n in numbers:
                if s.start <= n.start and n.end <= s.end:
                    s = Span(n.end, s.end, s.type)
            if s.start >= s.end:
                continue
        yield s


def _candidates(text: str) -> Iterator[Span]:
    norm = normalise(text)
    for detect in _DETECTORS:
        for span in detect(norm):
            # nothing starts or ends next to a `*`: that is masked text (***室村0号 stays)
            if "*" not in norm[span.start - 1 : span.start] + norm[span.end : span.end + 1]:
                yield span
    yield from find_all_names(text, norm)


def _starred(text: str, spans: list[Span]) -> str:
    """`text` masked in the default style, which keeps every span's length."""
    style = MaskStyle()
    out = list(text)
    for s in spans:
        out[s.start : s.end] = style.apply(s.type, text[s.start : s.end])
    return "".join(out)


def _found(text: str, seen: dict[str, list[Span]]) -> list[Span]:
    # `seen` lives for one mask() call: its second look is at the very text find_spans starred
    if text not in seen:
        seen[text] = _resolve(_candidates(text))
    return seen[text]


def find_spans(text: str) -> list[Span]:
    """Spans of personal data in `text`, sorted and non-overlapping."""
    return _find_spans(text, {})


def _find_spans(text: str, seen: dict[str, list[Span]]) -> list[Span]:
    spans = list(_found(text, seen))
    # masking changes the context of what is left (digits the segmenter read with a name, a
    # cue freed from a number): look again at the masked text until nothing new turns up, so
    # that masking masked text finds nothing
    for _ in range(3):
        if not spans:
            break
        extra = [
            s
            for s in _found(_starred(text, spans), seen)
            if all(s.end <= t.start or t.end <= s.start for t in spans)
        ]
        if not extra:
            break
        spans = sorted(spans + extra)
    return spans


def mask(text: str, style: MaskStyle | None = None) -> MaskResult:
    """Mask every span of personal data in `text` according to `style`.

    Masked once more, the result must not change: where a style that keeps lengths leaves
    something a second look would mask (a door number read again once its room is starred),
    that is masked too and its span merged with the one it touches.
    """
    style = style or MaskStyle()
    seen: dict[str, list[Span]] = {}
    result = _mask_once(text, style, seen)
    if not result.spans:
        return result  # the text is unchanged, so a second look would find nothing either
    for _ in range(2):
        again = _mask_once(result.text, style, seen)
        if not again.spans or len(again.text) != len(result.text):
            break
        result = MaskResult(again.text, _merged(result.spans + again.spans))
    return result


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping spans joined; the joined span keeps the type of its longest part."""
    out: list[tuple[Span, Span]] = []  # (joined span, its longest part)
    for s in sorted(spans):
        if out and s.start < out[-1][0].end:
            joined, longest = out[-1]
            longer = s if s.end - s.start > longest.end - longest.start else longest
            out[-1] = (Span(joined.start, max(joined.end, s.end), longer.type), longer)
        else:
            out.append((s, s))
    return [joined for joined, _ in out]


def _mask_once(text: str, style: MaskStyle, seen: dict[str, list[Span]]) -> MaskResult:
    spans = _find_spans(text, seen)
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(text[pos : s.start])
        out.append(style.apply(s.type, text[s.start : s.end]))
        pos = s.end
    out.append(text[pos:])
    return MaskResult("".join(out), spans)


def mask_text(text: str) -> str:
    """`text` with its personal data masked in the default style."""
    return mask(text).text
