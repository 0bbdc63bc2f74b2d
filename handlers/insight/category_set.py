"""The deployment's category set: insight.md's default, renamed, extended or cut down by config.

A `CategorySet` is plain data (names, lexicon words, training examples, renames) built once by
the bot layer from `[insight.categories]` and installed with `use()`; every part of insight —
the model, the lexicon, `#12 分类`, the card, the brief, the stats — reads `active()`. Stored
cases keep the category string they were given: a renamed category's old name counts under
its new one (`canonical`), a removed one still shows and counts under its own name, marked
「（已停用）」 (`label`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from handlers.insight.data_files import load_jsonl, load_yaml

DEFAULT_MIN_EXAMPLES = 30
RETIRED_MARK = "（已停用）"
_LOCK = threading.Lock()


class CategoryConfigError(ValueError):
    """A category configuration that cannot work; the message says which category and why."""


@dataclass(frozen=True)
class CategoryDef:
    """One category: its name, lexicon words (word → weight) and training examples."""

    name: str
    words: tuple[tuple[str, float], ...] = ()
    examples: tuple[str, ...] = ()
    was: tuple[str, ...] = ()  # earlier names (a rename): stored cases with them count here


@dataclass(frozen=True)
class CategorySet:
    """The categories of one deployment, in display order, with the lexicon rules that apply."""

    categories: tuple[CategoryDef, ...]
    decisive: tuple[tuple[tuple[str, ...], str], ...] = ()
    object_categories: tuple[tuple[str, str], ...] = ()
    object_weight: float = 0.0
    retired: tuple[str, ...] = field(default=())  # default names removed by this deployment

    @property
    def names(self) -> list[str]:
        """The category names, in order."""
        return [c.name for c in self.categories]

    def canonical(self, stored: str | None) -> str | None:
        """The current name for a stored category (an old name of a renamed one maps to it)."""
        if not stored:
            return stored
        for cat in self.categories:
            if stored == cat.name or stored in cat.was:
                return cat.name
        return stored

    def label(self, stored: str) -> str:
        """How a stored category is shown: its current name, or 「违章搭建（已停用）」."""
        name = self.canonical(stored) or stored
        return name if name in self.names else f"{name}{RETIRED_MARK}"

    def training(self) -> list[tuple[str, str]]:
        """(text, category) pairs the model trains on."""
        return [(text, cat.name) for cat in self.categories for text in cat.examples]

    def terms(self) -> dict[str, dict[str, float]]:
        """Lexicon words per category."""
        return {c.name: dict(c.words) for c in self.categories if c.words}


def default_set(leave_out: frozenset[str] = frozenset()) -> CategorySet:
    """insight.md's twelve categories with the shipped lexicon and examples; `leave_out` drops
    the examples taken from those labelled sets (a bench scoring a set must not train on it)."""
    return _default(leave_out)


# the messages of our labelled sets (tests/fixtures/insight), written by
# bench/insight_category_examples.py: more varied wording than the hand-written examples
LABELLED_EXAMPLES = "category_examples_sets.jsonl"


@functools.cache
def _default(leave_out: frozenset[str]) -> CategorySet:
    data = load_yaml("category_lexicon.yaml")
    examples: dict[str, list[str]] = {}
    rows = load_jsonl("category_examples.jsonl") + load_jsonl(LABELLED_EXAMPLES)
    for row in rows:
        if row.get("set") not in leave_out:
            examples.setdefault(row["category"], []).append(row["text"])
    terms = data["terms"]
    cats = tuple(
        CategoryDef(
            name,
            tuple((w, float(v)) for w, v in terms.get(name, {}).items()),
            tuple(examples.get(name, ())),
        )
        for name in data["categories"]
    )
    return CategorySet(
        cats,
        tuple((tuple(words), cat) for words, cat in data["decisive"]),
        tuple(data.get("object_categories", {}).items()),
        float(data.get("object_weight", 0.0)),
    )


@dataclass(frozen=True)
class CategoryChange:
    """A deployment's addition to the set, or extra words/examples for an existing category."""

    name: str
    words: Mapping[str, float] = field(default_factory=dict)
    examples: tuple[str, ...] = ()


def build_set(
    *,
    base: str = "default",
    remove: Iterable[str] = (),
    rename: Mapping[str, str] | None = None,
    add: Iterable[CategoryChange] = (),
    min_examples: int = DEFAULT_MIN_EXAMPLES,
) -> CategorySet:
    """The default set (or none) with `remove`, `rename` and `add` applied; checked.

    Raises CategoryConfigError when a name is unknown, doubled or a category would have fewer
    than `min_examples` training examples (the model could not learn it: refused, not guessed).
    """
    start = default_set() if base == "default" else CategorySet(())
    known = {c.name: c for c in start.categories}
    rename = dict(rename or {})
    for old in [*remove, *rename]:
        if old not in known:
            raise CategoryConfigError(
                f"'{old}' is not a default category (they are: {'、'.join(known)})"
            )
    removed = set(remove)
    both = removed & set(rename)
    if both:
        raise CategoryConfigError(f"'{sorted(both)[0]}' is both removed and renamed")
    cats: dict[str, CategoryDef] = {}
    for cat in start.categories:
        if cat.name in removed:
            continue
        new = rename.get(cat.name, cat.name)
        if new in cats:
            raise CategoryConfigError(f"two categories would be called '{new}'")
        was = (cat.name,) if new != cat.name else ()
        cats[new] = CategoryDef(new, cat.words, cat.examples, was)
    for change in add:
        name = change.name.strip()
        if not name:
            raise CategoryConfigError("a category in [[insight.categories.add]] has no name")
        if name in removed:
            raise CategoryConfigError(f"'{name}' is removed and added again; drop one of them")
        existing = cats.get(name, CategoryDef(name))
        words = dict(existing.words) | {w: float(v) for w, v in change.words.items()}
        examples = existing.examples + tuple(t for t in change.examples if t.strip())
        cats[name] = CategoryDef(name, tuple(words.items()), examples, existing.was)
    _check(cats, min_examples)
    mapped = {**{n: n for n in known}, **rename}
    return CategorySet(
        tuple(cats.values()),
        tuple((w, mapped[c]) for w, c in start.decisive if c not in removed),
        tuple((o, mapped[c]) for o, c in start.object_categories if c not in removed),
        start.object_weight,
        tuple(sorted(removed)),
    )


def _check(cats: Mapping[str, CategoryDef], min_examples: int) -> None:
    if len(cats) < 2:
        raise CategoryConfigError("at least two categories are needed")
    short = [
        f"'{c.name}' has {len(c.examples)}" for c in cats.values() if len(c.examples) < min_examples
    ]
    if short:
        raise CategoryConfigError(
            f"too few training examples ({', '.join(short)}; at least {min_examples} each): "
            "add `examples` or an `examples_file` to the category"
        )


_active: CategorySet | None = None


def use(categories: CategorySet | None) -> None:
    """Install the deployment's set for this process (None: the default set)."""
    global _active
    with _LOCK:
        _active = categories


def active() -> CategorySet:
    """The set this process categorises with."""
    return _active if _active is not None else default_set()
