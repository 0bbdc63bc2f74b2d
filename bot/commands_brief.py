"""`lianxin insight brief`: the weekly 热点专报 of a region on demand (text, optionally xlsx)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.commands import _sessions
from bot.config import Settings


def cmd_insight_brief(args: argparse.Namespace, settings: Settings) -> int:
    """Print the brief of `--region` for `--week`; `--xlsx FILE` also writes it as a workbook."""
    from handlers.insight.brief import BriefError, build_brief, parse_week
    from handlers.insight.brief_text import brief_markdown

    try:
        week = parse_week(args.week)
        with _sessions(settings)() as session:
            brief = build_brief(session, args.region, week)
    except BriefError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(brief_markdown(brief))
    if args.xlsx is not None:
        from bot.exports.brief_xlsx import write_brief_xlsx

        write_brief_xlsx(brief, Path(args.xlsx))
        print(f"written to {args.xlsx}", file=sys.stderr)
    return 0
