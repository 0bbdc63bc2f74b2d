"""Find the header row of a hotline export and which column holds which field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

REQUIRED = ("ticket_no", "called_at", "content")
HEADER_SEARCH_ROWS = 10  # exports often put a title row or two above the header
_LABELS = {
    "ticket_no": "工单编号",
    "called_at": "来电时间",
    "content": "诉求内容",
    "address": "诉求地址",
    "region": "所属乡镇/街道",
    "category": "问题分类",
    "nature": "工单性质",
    "handling_unit": "承办单位",
    "status": "办理状态",
    "closed_at": "办结时间",
    "answer": "答复内容",
    "resolved": "是否解决",
    "satisfied": "是否满意",
    "caller_name": "来电人",
    "caller_phone": "联系电话",
}


def label(field_name: str) -> str:
    """The usual Chinese header of a field, for messages."""
    return _LABELS.get(field_name, field_name)


def header_key(text: object) -> str:
    """A header cell compared without spaces, BOM, brackets' width or letter case."""
    s = "" if text is None else str(text)
    s = s.replace("\ufeff", "").replace("（", "(").replace("）", ")").replace("／", "/")
    return re.sub(r"\s+", "", s).lower()


@cache
def aliases() -> dict[str, str]:
    """Header key → field, from data/header_aliases.yaml."""
    data = yaml.safe_load(
        Path(__file__).with_name("data").joinpath("header_aliases.yaml").read_text("utf-8")
    )
    return {header_key(alias): name for name, names in data.items() for alias in names}


@dataclass
class Columns:
    """Where the header is (1-based row) and the column index of each field."""

    header_row: int
    index: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # headers we do not read (never stored)
    problems: list[str] = field(default_factory=list)


def find_header(rows: list[list[object]]) -> Columns | None:
    """The first of the top rows that names a 工单编号 column, resolved; None if none does."""
    table = aliases()
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if any(table.get(header_key(c)) == "ticket_no" for c in row):
            return resolve(row, i + 1)
    return None


def resolve(header: list[object], row: int) -> Columns:
    """Map each header cell to a field; repeated and missing required fields are problems."""
    table = aliases()
    cols = Columns(header_row=row)
    for i, cell in enumerate(header):
        key = header_key(cell)
        if not key:
            continue
        name = table.get(key)
        if name is None:
            cols.ignored.append(str(cell).strip())
        elif name in cols.index:
            cols.problems.append(f"column {str(cell).strip()!r} repeats {label(name)}")
        else:
            cols.index[name] = i
    for name in REQUIRED:
        if name not in cols.index:
            cols.problems.append(f"no {label(name)} column")
    return cols
