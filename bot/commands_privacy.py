"""`lianxin mask`: mask personal data in JSONL messages (no database, no Redis)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import IO, Any

from bot.config import Settings


def _record(ident: Any, text: str) -> str:
    from handlers.privacy import mask

    result = mask(text)
    spans = [{"start": s.start, "end": s.end, "type": s.type} for s in result.spans]
    return json.dumps({"id": ident, "masked": result.text, "spans": spans}, ensure_ascii=False)


def _parse(line: str) -> tuple[Any, str]:
    """The id and text of one input line; ValueError says what is wrong with it."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if not isinstance(obj.get("text"), str):
        raise ValueError('no string "text"')
    return obj.get("id"), obj["text"]


def mask_lines(lines: Iterable[str], out: IO[str], err: IO[str]) -> int:
    """Mask each `{"id", "text"}` line to `out`, in order; bad lines are reported to `err`."""
    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            ident, text = _parse(line)
        except ValueError as exc:
            bad += 1
            print(f"lianxin mask: line {number}: {exc}; skipped", file=err)
            continue
        out.write(_record(ident, text) + "\n")
    if bad:
        print(f"lianxin mask: {bad} bad line(s) skipped", file=err)
    return 1 if bad else 0


def cmd_mask(args: argparse.Namespace, settings: Settings) -> int:
    """Mask personal data in `--text` or in a JSONL file (`-` = standard input)."""
    del settings  # the masker needs no configuration
    if args.text is not None:
        sys.stdout.write(_record(None, args.text) + "\n")
        return 0
    if args.input == "-":
        return mask_lines(sys.stdin, sys.stdout, sys.stderr)
    try:
        with open(args.input, encoding="utf-8") as fh:
            return mask_lines(fh, sys.stdout, sys.stderr)
    except OSError as exc:
        print(f"lianxin mask: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return 2
