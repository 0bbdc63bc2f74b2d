"""Implementations of the `lianxin` subcommands."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.runtime import Runtime, build_runtime, install

log = logging.getLogger("lianxin")


def _sessions(settings: Settings) -> sessionmaker[Session]:
    """Database sessions for commands that need no Redis (the embedded default migrates)."""
    from bot.insight_config import install_categories
    from storage import migrate
    from storage.db import make_engine, make_session_factory

    install_categories(settings)  # stats, brief and cluster use the deployment's categories
    engine = make_engine(settings.database_url)
    if not settings.database.url:
        migrate.upgrade(engine)
    return make_session_factory(engine)


def _runtime(settings: Settings, *, web: bool = False) -> Runtime:
    rt = build_runtime(settings, web=web)
    install(rt)
    return rt


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the whole service as one supervised process group."""
    from bot.launcher import run_service

    return run_service(settings, host=args.host, port=args.port)


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the Flask app (development server; use gunicorn `bot.wsgi:app` in production)."""
    from werkzeug.serving import make_server

    from bot.app import create_app
    from bot.readiness import EXIT_CANNOT_LISTEN, cannot_listen, describe_bind_error

    host = args.host or settings.web.host
    port = args.port if args.port is not None else settings.web.port
    problem = cannot_listen(host, port)  # before connecting anything: fail fast and clearly
    if problem is not None:
        print(f"lianxin: {problem}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    app = create_app(runtime=_runtime(settings, web=True))
    try:
        server = make_server(host, port, app, threaded=True)
    except OSError as exc:  # taken between the check and now
        print(f"lianxin: {describe_bind_error(host, port, exc)}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    signal.signal(signal.SIGTERM, lambda *_: _raise_interrupt())
    log.info("web listening on http://%s:%s", host, server.server_port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Process jobs from every lianxin queue (no fork per job: sessions and pools stay warm)."""
    from bot.adapters import register_adapters
    from bot.services import run_worker

    rt = _runtime(settings)
    register_adapters()  # this process is a composition root: the pipeline finds them here
    from bot.calendar_health import warn_at_start

    warn_at_start(rt, "worker")
    from handlers.insight.category import warm_up

    # before taking jobs: the first case must not wait seconds for the model (a restarted
    # worker loads the one trained before from the cache)
    warm_up(settings.insight.model_cache_dir or settings.var_dir / "cache")
    from handlers.privacy.model import warm_up as warm_up_masker

    warm_up_masker()  # every new case is masked (and segmented by the insight) in a worker
    from bot.heap import freeze_startup_heap

    freeze_startup_heap()
    return run_worker(rt, burst=args.burst, logging_level=_rq_log_level(settings))


def _rq_log_level(settings: Settings) -> str:
    # rq logs every job at INFO; operators see our own log lines instead
    return "DEBUG" if settings.log_level == "DEBUG" else "WARNING"


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    """Enqueue periodic jobs with rq's cron scheduler."""
    from bot.adapters import register_adapters
    from bot.services import run_scheduler

    rt = _runtime(settings)
    register_adapters()  # a composition root: the periodic jobs it registers find them
    return run_scheduler(rt, logging_level=_rq_log_level(settings))


def cmd_stream(args: argparse.Namespace, settings: Settings) -> int:
    """Hold the DingTalk Stream connection and record every frame in the inbox."""
    from bot.dingtalk.stream import run_stream
    from bot.healing import Outage, keep_running

    rt = _runtime(settings)
    codes: list[int] = []

    def once() -> bool:
        codes.append(run_stream(rt))  # returns when stopped (0) or not configured (2)
        return True

    keep_running("stream", rt, once, Outage("stream"))
    return codes[-1] if codes else 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Apply database migrations."""
    from storage import migrate
    from storage.db import make_engine

    engine = make_engine(settings.database_url)
    print(f"upgrading {engine.url.render_as_string(hide_password=True)} …", flush=True)
    migrate.upgrade(engine)
    print("database is up to date")
    return 0


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    """Push a notice to every deputy of a region or station."""
    from bot.pipeline.context import handler_context
    from bot.pipeline.outbox_jobs import enqueue_sends
    from handlers.notify import send_notice
    from storage.outbox import take_new_outbox_ids

    rt = _runtime(settings)
    try:
        with rt.sessions.begin() as session:
            result = send_notice(
                session,
                handler_context(rt, session),
                region_code=args.region,
                station_code=args.station,
                text=args.text,
                created_by="cli",
            )
            new_ids = take_new_outbox_ids(session)
    except LookupError as exc:
        print(f"lianxin: nothing sent: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 1
    enqueue_sends(rt, new_ids)
    print(
        f"notice #{result.notice_id} queued for {result.deputies} deputies of {result.target}; "
        "`lianxin worker` delivers it"
    )
    return 0
