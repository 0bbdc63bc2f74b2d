"""Compile a marked-up PII fixture (`ID<TAB>text with {{t:span}}`) into labeled JSONL."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

CODES = {
    "m": "mobile",
    "l": "landline",
    "i": "id_card",
    "p": "plate",
    "n": "name",
    "a": "address",
    "b": "bank_card",
    "e": "email",
}
MARK = re.compile(r"\{\{([a-z]):(.*?)\}\}")


def compile_line(line: str) -> dict[str, object]:
    """One `{"id", "text", "spans"}` record from one marked-up line."""
    ident, marked = line.rstrip("\n").split("\t", 1)
    text: list[str] = []
    spans: list[dict[str, object]] = []
    pos = 0
    length = 0
    for m in MARK.finditer(marked):
        plain = marked[pos : m.start()]
        text.append(plain)
        length += len(plain)
        value = m.group(2)
        spans.append({"start": length, "end": length + len(value), "type": CODES[m.group(1)]})
        text.append(value)
        length += len(value)
        pos = m.end()
    text.append(marked[pos:])
    return {"id": ident, "text": "".join(text), "spans": spans}


def compile_file(src: Path, out: Path) -> int:
    """Write `out` from `src`; returns the number of messages."""
    lines = [ln for ln in src.read_text("utf-8").splitlines() if ln and not ln.startswith("#")]
    with out.open("w", encoding="utf-8") as fh:
        for ln in lines:
            fh.write(json.dumps(compile_line(ln), ensure_ascii=False) + "\n")
    return len(lines)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["labeled", "holdout", "fresh", "fresh2"]:
        base = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "privacy"
        n = compile_file(base / f"{name}.src.txt", base / f"{name}.jsonl")
        print(f"{name}: {n} messages")
