"""`lianxin insight …` and `lianxin directory places`: the 民情大脑 commands."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

from bot.commands import _sessions
from bot.config import Settings

_CHINA = timezone(timedelta(hours=8))


def _parse_line(number: int, line: str) -> tuple[Any, str | None]:
    from handlers.insight.cluster import InputMessage

    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"line {number}: not JSON ({exc.msg})"
    if not isinstance(row, dict):
        return None, f"line {number}: expected an object with id, text, created_at"
    missing = [k for k in ("id", "text", "created_at") if row.get(k) in (None, "")]
    if missing:
        return None, f"line {number}: missing {', '.join(missing)}"
    try:
        at = datetime.fromisoformat(str(row["created_at"]))
    except ValueError:
        return None, f"line {number}: created_at {row['created_at']!r} is not ISO 8601"
    if at.tzinfo is None:
        at = at.replace(tzinfo=_CHINA)  # documented: a time without offset is China time
    lat, lng = row.get("lat"), row.get("lng")
    if (lat is None) != (lng is None) or not all(
        v is None or isinstance(v, int | float) for v in (lat, lng)
    ):
        return None, f"line {number}: give lat and lng as numbers, both or neither"
    return InputMessage(str(row["id"]), str(row["text"]), at, lat, lng), None


def cmd_insight_cluster(args: argparse.Namespace, settings: Settings) -> int:
    """Group a JSONL history as intake would; prints one JSON line per input line."""
    from handlers.insight.cluster import cluster
    from handlers.insight.gazetteer import load_gazetteer

    try:
        lines = args.input.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{args.input}: {exc}", file=sys.stderr)
        return 1
    messages, problems = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        msg, problem = _parse_line(number, line)
        if problem:
            problems.append(problem)
        else:
            messages.append(msg)
    if problems:
        print(f"{args.input}: nothing clustered, {len(problems)} bad line(s):", file=sys.stderr)
        for problem in problems[:20]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    with _sessions(settings)() as session:
        gazetteer = load_gazetteer(session)
        session.rollback()  # read only: nothing of this command is ever written
    outcomes = cluster(messages, gazetteer)
    out = sys.stdout
    for o in outcomes:
        row = {"id": o.id, "group": o.group, "category": o.category, "place": o.place}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    out.flush()
    groups = len({o.group for o in outcomes})
    unplaced = sum(1 for o in outcomes if o.place is None)
    print(
        f"lianxin insight cluster: {len(outcomes)} messages, {groups} groups, "
        f"{unplaced} with no resolved place (gazetteer: {len(gazetteer.places)} places)",
        file=sys.stderr,
    )
    return 0


def cmd_insight_corrections(args: argparse.Namespace, settings: Settings) -> int:
    """Write every category correction as a training example {text, category, ...}."""
    from handlers.insight.corrections import corrections

    with _sessions(settings)() as session:
        rows = corrections(session)
    with args.out.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} correction(s) written to {args.out}")
    return 0


def cmd_directory_places(args: argparse.Namespace, settings: Settings) -> int:
    """List each place with its kind, region and the variants lianxin matches."""
    from handlers.insight.gazetteer import load_gazetteer

    with _sessions(settings)() as session:
        gazetteer = load_gazetteer(session)
    if not gazetteer.places:
        print("no places (import a directory file with a places: section)")
        return 0
    for place in sorted(gazetteer.places.values(), key=lambda p: (p.region or "", p.name)):
        where = f"{place.lat:.6f},{place.lng:.6f}" if place.lat is not None else "-"
        variants = "、".join(gazetteer.variants[place.id])
        print(f"{place.name}\t{place.kind}\t{place.region}\t{where}\t{variants}")
    return 0
