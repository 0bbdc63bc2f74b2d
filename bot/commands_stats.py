"""`lianxin stats`: the published figures for a region and a window, as text, JSON or xlsx."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from bot.config import Settings
from bot.workcal_config import service_zone, work_calendar

BY_CHOICES = ("region", "station", "deputy", "category", "source", "week")


def iso_date(text: str) -> date:
    """argparse type for YYYY-MM-DD with a message an operator understands."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `lianxin stats`."""
    sp = sub.add_parser(
        "stats",
        help="statistics for a region and period (the same numbers as pages and exports)",
        description="统计：收集、及时答复率、满意率、办结率、工作时长，按地区汇总（含下级）",
    )
    sp.add_argument("--region", metavar="CODE", help="region code (default: every region)")
    sp.add_argument("--from", dest="first", type=iso_date, required=True, metavar="YYYY-MM-DD")
    sp.add_argument("--to", dest="last", type=iso_date, required=True, metavar="YYYY-MM-DD")
    sp.add_argument("--by", choices=BY_CHOICES, help="one row per group")
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--xlsx", type=Path, metavar="FILE", help="also write an xlsx with 说明")
    sp.set_defaults(func=cmd_stats)


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    """Print (and optionally export) the statistics report."""
    from bot.commands import _sessions
    from handlers.stats import UnknownRegion, Window, build_report

    try:
        window = Window(args.first, args.last, service_zone(settings))
    except ValueError as exc:
        print(f"lianxin stats: {exc}", file=sys.stderr)
        return 2
    with _sessions(settings)() as session:
        try:
            report = build_report(
                session,
                region_code=args.region,
                window=window,
                calendar=work_calendar(settings, session),
                by=args.by,
            )
        except UnknownRegion as exc:
            valid = ", ".join(exc.valid) or "(the directory has no regions yet)"
            print(f"lianxin stats: unknown region {exc.code!r}; valid: {valid}", file=sys.stderr)
            return 2
    if args.xlsx:
        from bot.exports.stats_xlsx import write_stats_xlsx

        write_stats_xlsx(report, args.xlsx)
        print(f"wrote {args.xlsx}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        from bot.stats_text import render_report

        print(render_report(report))
    return 0
