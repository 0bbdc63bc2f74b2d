"""`lianxin solicit …` and `lianxin deputies …`: 意见征集, votes and 履职档案 (handlers/duties)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from bot.config import Settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `lianxin solicit` and `lianxin deputies`."""
    solicit = sub.add_parser("solicit", help="意见征集, questionnaires and votes (docs/duties.md)")
    ssub = solicit.add_subparsers(metavar="ACTION")
    create = ssub.add_parser("create", help="send a solicitation or vote described in a YAML file")
    create.add_argument("file", type=Path)
    create.set_defaults(func=cmd_solicit_create)
    results = ssub.add_parser("results", help="counts, free-text answers, response rates")
    results.add_argument("id", type=lambda s: int(s.lstrip("#")))
    results.add_argument("--xlsx", type=Path, metavar="FILE")
    results.set_defaults(func=cmd_solicit_results)
    close = ssub.add_parser("close", help="close now (a vote is counted at its close)")
    close.add_argument("id", type=lambda s: int(s.lstrip("#")))
    close.set_defaults(func=cmd_solicit_close)

    deputies = sub.add_parser("deputies", help="deputies' 履职档案 and 履职积分")
    dsub = deputies.add_subparsers(metavar="ACTION")
    record = dsub.add_parser("record", help="one deputy's 履职档案 for a year")
    record.add_argument("code", help="deputy code or name")
    record.add_argument("--year", type=int, required=True)
    record.add_argument("--xlsx", type=Path, metavar="FILE")
    record.set_defaults(func=cmd_deputies_record)
    scores = dsub.add_parser("scores", help="履职积分 by region and station for a year")
    scores.add_argument("--year", type=int, required=True)
    scores.add_argument("--region", metavar="CODE")
    scores.add_argument("--xlsx", type=Path, metavar="FILE")
    scores.set_defaults(func=cmd_deputies_scores)


def _fail(message: str) -> int:
    print(f"lianxin: {message}", file=sys.stderr)
    return 1


def cmd_solicit_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a solicitation from YAML and queue its cards."""
    from bot.commands import _runtime
    from bot.pipeline.context import handler_context
    from bot.pipeline.outbox_jobs import enqueue_send
    from bot.workcal_config import service_zone
    from handlers.duties import solicit
    from handlers.duties.spec import SpecError, parse_spec
    from storage.outbox import take_new_outbox_ids

    try:
        raw = yaml.safe_load(args.file.read_text("utf-8"))
        spec = parse_spec(raw, service_zone(settings))
    except (OSError, yaml.YAMLError, SpecError) as exc:
        return _fail(f"{args.file}: {exc}")
    rt = _runtime(settings)
    try:
        with rt.sessions.begin() as session:
            created = solicit.create(session, handler_context(rt, session), spec, "cli")
            new_ids = take_new_outbox_ids(session)
    except (LookupError, ValueError) as exc:
        return _fail(f"nothing sent: {exc.args[0] if exc.args else exc}")
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    print(
        f"{spec.kind} #{created.solicitation_id} queued for {created.deputies} deputies "
        f"in {created.batches} batches; `lianxin worker` delivers it"
    )
    return 0


def cmd_solicit_close(args: argparse.Namespace, settings: Settings) -> int:
    """Close a solicitation now (template cards are then re-rendered as 已截止)."""
    from bot.commands import _runtime
    from bot.pipeline.context import handler_context
    from bot.pipeline.outbox_jobs import enqueue_send
    from handlers.duties import vote
    from storage.models import Solicitation
    from storage.outbox import take_new_outbox_ids

    rt = _runtime(settings)
    with rt.sessions.begin() as session:
        sol = session.get(Solicitation, args.id)
        if sol is None:
            return _fail(f"no solicitation {args.id}")
        if sol.closed_at is not None:
            print(f"#{sol.id} was already closed at {sol.closed_at:%Y-%m-%d %H:%M} UTC")
            return 0
        vote.close(session, sol, handler_context(rt, session), by="cli")
        new_ids = take_new_outbox_ids(session)
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    print(f"#{args.id} closed")
    return 0


def cmd_solicit_results(args: argparse.Namespace, settings: Settings) -> int:
    """Print (and optionally export) a solicitation's results."""
    from bot.commands import _sessions
    from bot.duties_text import render_results
    from handlers.duties.results import results

    with _sessions(settings)() as session:
        try:
            res = results(session, args.id)
        except LookupError as exc:
            return _fail(str(exc))
        print(render_results(res))
        if args.xlsx:
            from bot.exports.duties_xlsx import write_results_xlsx

            write_results_xlsx(res, args.xlsx)
            print(f"wrote {args.xlsx}", file=sys.stderr)
    return 0


def _points(settings: Settings) -> dict[str, float] | None:
    from handlers.duties.record import points_table

    try:
        return points_table(settings.duties.points)
    except ValueError as exc:
        _fail(str(exc))
        return None


def cmd_deputies_record(args: argparse.Namespace, settings: Settings) -> int:
    """Print (and optionally export) one deputy's 履职档案."""
    from bot.commands import _sessions
    from bot.duties_text import render_archive
    from handlers import queries
    from handlers.duties.record import archives

    points = _points(settings)
    if points is None:
        return 2
    with _sessions(settings)() as session:
        deputy = queries.find_deputy(session, args.code)
        if deputy is None:
            return _fail(f"no deputy {args.code!r}")
        archive = archives(session, args.year, points, {deputy.id})[deputy.id]
        print(render_archive(archive))
        if args.xlsx:
            from bot.exports.duties_xlsx import write_archive_xlsx

            write_archive_xlsx(archive, args.xlsx)
            print(f"wrote {args.xlsx}", file=sys.stderr)
    return 0


def cmd_deputies_scores(args: argparse.Namespace, settings: Settings) -> int:
    """Print (and optionally export) 履职积分 by region and station."""
    from bot.commands import _sessions
    from bot.duties_text import render_scores
    from handlers.duties.scores import score_table

    points = _points(settings)
    if points is None:
        return 2
    with _sessions(settings)() as session:
        try:
            rows = score_table(session, args.year, points, args.region)
        except LookupError as exc:
            return _fail(str(exc))
    print(render_scores(rows))
    if args.xlsx:
        from bot.exports.duties_xlsx import write_scores_xlsx

        write_scores_xlsx(rows, args.xlsx)
        print(f"wrote {args.xlsx}", file=sys.stderr)
    return 0
