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
    from storage import migrate
    from storage.db import make_engine, make_session_factory

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
    from bot import queue as q
    from bot.supervisor import Child, Supervisor, child_env, lianxin_argv
    from storage import migrate
    from storage.db import make_engine

    # the sandbox has no authentication: it stays on loopback unless --host says otherwise
    host = args.host or ("127.0.0.1" if settings.sandbox_mode else settings.web.host)
    port = args.port if args.port is not None else settings.web.port
    print("lianxin: preparing the database …", flush=True)
    migrate.upgrade(make_engine(settings.database_url))
    # children get resolved URLs: they share our embedded Redis and skip the migration we just ran
    overrides: dict[str, str] = {"LIANXIN_DATABASE__URL": settings.database_url}
    if not settings.redis.url:
        overrides["LIANXIN_REDIS__URL"] = q.embedded_redis_url(settings.var_dir)
    sandbox = None
    if settings.sandbox_mode:
        from bot.sandbox.launch import start_sandbox

        sandbox = start_sandbox(settings, host=host, port=port)
        overrides.update(sandbox.env)
    children = [
        Child("web", lianxin_argv("web", "--host", host, "--port", str(port))),
        Child("worker", lianxin_argv("worker")),
        Child("scheduler", lianxin_argv("scheduler")),
    ]
    if settings.dingtalk.configured or sandbox is not None:
        children.append(Child("stream", lianxin_argv("stream")))
    url = f"http://{host}:{port}/" + ("sandbox" if sandbox else "healthz")
    print(f"lianxin {'sandbox ' if sandbox else ''}is starting: {url}  (Ctrl-C stops)", flush=True)
    try:
        return Supervisor(children, child_env(overrides)).run()
    finally:
        if sandbox is not None:
            sandbox.stop()
        if not settings.redis.url:
            q.stop_embedded(settings.var_dir)


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the Flask app (development server; use gunicorn `bot.wsgi:app` in production)."""
    from werkzeug.serving import make_server

    from bot.app import create_app

    app = create_app(runtime=_runtime(settings, web=True))
    host = args.host or settings.web.host
    port = args.port if args.port is not None else settings.web.port
    server = make_server(host, port, app, threaded=True)
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
    from rq import SimpleWorker

    from bot.queue import ALL_QUEUES
    from bot.registry import load_adapters

    rt = _runtime(settings)
    load_adapters()
    from bot.calendar_health import warn_at_start

    warn_at_start(rt, "worker")
    worker = SimpleWorker([rt.queue(n) for n in ALL_QUEUES], connection=rt.redis)
    worker.work(burst=args.burst, with_scheduler=True, logging_level=_rq_log_level(settings))
    return 0


def _rq_log_level(settings: Settings) -> str:
    # rq logs every job at INFO; operators see our own log lines instead
    return "DEBUG" if settings.log_level == "DEBUG" else "WARNING"


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    """Enqueue periodic jobs with rq's cron scheduler."""
    from rq.cron import CronScheduler

    from bot import jobs
    from bot.queue import PERIODIC_QUEUE

    rt = _runtime(settings)
    cron = CronScheduler(connection=rt.redis, logging_level=_rq_log_level(settings))
    queue_name = rt.queue(PERIODIC_QUEUE).name
    for func, every in jobs.PERIODIC(settings):
        cron.register(func, queue_name=queue_name, interval=every, result_ttl=60)
    cron.start()
    return 0


def cmd_stream(args: argparse.Namespace, settings: Settings) -> int:
    """Hold the DingTalk Stream connection and record every frame in the inbox."""
    from bot.dingtalk.stream import run_stream

    return run_stream(_runtime(settings))


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
    from bot.jobs import enqueue_send, handler_context
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
    for outbox_id in new_ids:
        enqueue_send(rt, outbox_id)
    print(
        f"notice #{result.notice_id} queued for {result.deputies} deputies of {result.target}; "
        "`lianxin worker` delivers it"
    )
    return 0
