"""Word lists of the masker, read once from the data files beside this module."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def words(name: str) -> frozenset[str]:
    """The entries of data/<name>.txt (one per line; `#` starts a comment)."""
    text = resources.files("handlers.privacy").joinpath("data", f"{name}.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@cache
def alternation(name: str) -> str:
    """A regex alternation of data/<name>.txt, longest entry first."""
    import re

    return "|".join(re.escape(w) for w in sorted(words(name), key=len, reverse=True))
