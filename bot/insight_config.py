"""`[insight.categories]` turned into the handlers' CategorySet (example files read here).

`load_settings` builds it once so a bad set stops every command at start-up with a message that
names the config source and the category; `build_runtime` installs it for the process.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from handlers.insight.category_set import (
    CategoryChange,
    CategoryConfigError,
    CategorySet,
    build_set,
    use,
)

if TYPE_CHECKING:
    from bot.config import CategoryAddition, Settings

LIST_WORD_WEIGHT = 3.0  # a word given in a plain list counts like the shipped strong words
_TEXT_HEADERS = ("text", "示例", "文本", "内容")


def category_set(settings: Settings) -> CategorySet:
    """The deployment's category set; ConfigError when it cannot be used."""
    cfg = settings.insight.categories
    base_dir = Path(settings.source).parent if Path(settings.source).is_file() else Path.cwd()
    return _cached(cfg.model_dump_json(), str(base_dir.resolve()), settings.source)


def install_categories(settings: Settings) -> None:
    """Make the deployment's set the one this process categorises with."""
    use(category_set(settings))


@functools.lru_cache(maxsize=8)
def _cached(dumped: str, base_dir: str, source: str) -> CategorySet:
    from bot.config import CategorySettings, ConfigError

    cfg = CategorySettings.model_validate_json(dumped)
    try:
        changes = [_change(add, Path(base_dir)) for add in cfg.add]
        return build_set(
            base=cfg.base,
            remove=cfg.remove,
            rename=cfg.rename,
            add=changes,
            min_examples=cfg.min_examples,
        )
    except CategoryConfigError as exc:
        raise ConfigError(f"{source}: [insight.categories]: {exc}") from None


def _change(add: CategoryAddition, base_dir: Path) -> CategoryChange:
    words = {w: LIST_WORD_WEIGHT for w in add.words} if isinstance(add.words, list) else add.words
    examples = list(add.examples)
    if add.examples_file:
        examples += read_examples(base_dir / add.examples_file, add.name)
    return CategoryChange(add.name, words, tuple(examples))


def read_examples(path: Path, category: str) -> list[str]:
    """Example texts from a YAML list or an XLSX sheet (first column, or a 'text' column)."""
    if not path.is_file():
        raise CategoryConfigError(f"'{category}': examples_file {path} not found")
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _xlsx_examples(path)
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CategoryConfigError(f"'{category}': cannot read {path} ({exc})") from None
    if isinstance(data, dict) and isinstance(data.get("examples"), list):
        data = data["examples"]
    if not isinstance(data, list):
        raise CategoryConfigError(
            f"'{category}': {path} must be a YAML list of texts (or of {{text: ...}})"
        )
    out = []
    for i, item in enumerate(data, start=1):
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str) or not text.strip():
            raise CategoryConfigError(f"'{category}': {path} item {i} is not a text")
        out.append(text.strip())
    return out


def _xlsx_examples(path: Path) -> list[str]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    if not rows:
        return []
    header = [str(v or "").strip().lower() for v in rows[0]]
    column = next((header.index(h) for h in _TEXT_HEADERS if h in header), None)
    body = rows[1:] if column is not None else rows
    col = column or 0
    return [str(r[col]).strip() for r in body if len(r) > col and r[col] and str(r[col]).strip()]
