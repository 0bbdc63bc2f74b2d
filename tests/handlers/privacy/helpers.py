"""Shared helpers for the masker tests."""

from __future__ import annotations

from handlers.privacy import find_spans


def found(text: str) -> list[tuple[str, str]]:
    """(span text, type) for every span found in `text`."""
    return [(text[s.start : s.end], s.type) for s in find_spans(text)]
