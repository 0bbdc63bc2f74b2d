"""What the words joined to a candidate name say about it."""

from __future__ import annotations

from handlers.privacy.model import lexicon

_JOIN = "和跟与及、"


def parallel(text: str, tokens: dict[int, int], i: int, s: int) -> bool:
    """陈皮和黄芪, 韩式和日式: the word joined to it by 和/、 is a thing of the same kind."""
    name = text[i : i + s + 1]
    others = []
    j = i + s + 1
    if text[j : j + 1] in _JOIN and tokens.get(j + 1, 0) >= 2:
        others.append(text[j + 1 : j + 1 + tokens[j + 1]])
    if i and text[i - 1] in _JOIN:
        others += [text[i - 1 - k : i - 1] for k in (2, 3) if tokens.get(i - 1 - k) == k]
    for w in others:
        entry = lexicon().tags.get(w)
        thing = entry is not None and entry[0] >= 20 and not entry[1].startswith("nr")
        if w[-1] == name[-1] or (len(w) == 2 and thing):
            return True
    return False
