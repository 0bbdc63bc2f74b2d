"""The web app: health and metrics."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import queue as q
from bot.app import create_app
from bot.pipeline import wake
from bot.pipeline.ingest import ingest
from bot.readiness import INSTANCE_HEADER, instance_id
from bot.runtime import CLOCK_OFFSET_KEY, Runtime
from storage.calendar import import_calendar, read_calendar
from storage.models import KeyValue
from tests.support import RedisServer

CALENDAR_2027 = Path(__file__).resolve().parents[2] / "examples" / "calendar-2027.yaml"


def set_clock(rt: Runtime, when: datetime) -> None:
    """Move the service clock (the sandbox's 快进 offset) so it reads about `when`."""
    with rt.sessions.begin() as session:
        offset = (when - datetime.now(UTC)).total_seconds()
        session.merge(KeyValue(key=CLOCK_OFFSET_KEY, value=repr(offset)))


def test_healthz_ok(rt: Runtime):
    set_clock(rt, datetime(2026, 3, 2, 2, tzinfo=UTC))  # the library covers the next months
    client = create_app(runtime=rt).test_client()
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.get_json() == {
        "status": "ok",
        "service": "lianxin",
        "database": "ok",
        "redis": "ok",
        "calendar": "ok",
        "reasons": [],
    }
    # `lianxin run` says "ready" only when this process answers, not another on the port
    assert res.headers[INSTANCE_HEADER] == instance_id()


def test_healthz_degraded_without_holiday_data(rt: Runtime, caplog: pytest.LogCaptureFixture):
    set_clock(rt, datetime(2026, 12, 10, 2, tzinfo=UTC))  # a month ahead reaches 2027
    with caplog.at_level(logging.WARNING, logger="lianxin.calendar"):
        client = create_app(runtime=rt).test_client()
    assert any("web: no holiday data for 2027" in r.getMessage() for r in caplog.records)
    res = client.get("/healthz")
    assert res.status_code == 200  # still ready: callers keep routing, monitoring alerts
    body = res.get_json()
    assert (body["status"], body["database"], body["calendar"]) == (
        "degraded",
        "ok",
        "missing 2027",
    )
    assert body["reasons"][0].startswith("no holiday data for 2027: deadlines reaching into it")
    assert "lianxin calendar import" in body["reasons"][0]

    with rt.sessions.begin() as session:
        import_calendar(session, read_calendar(CALENDAR_2027), "calendar-2027.yaml")
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_healthz_reports_redis_down(rt: Runtime, tmp_path: Path):
    server = RedisServer(tmp_path / "r")
    server.start()
    server.stop()
    down = Runtime(
        rt.settings, rt.engine, rt.sessions, server.url, q.connect(server.url, fast_fail=True)
    )
    res = create_app(runtime=down).test_client().get("/healthz")
    assert res.status_code == 503
    assert res.get_json()["redis"] == "unavailable"
    assert res.get_json()["database"] == "ok"


def test_metrics_prometheus_text(rt: Runtime):
    ingest(rt, source="test_metrics", key="k1", payload="x")
    ingest(rt, source="test_metrics", key="k1", payload="x")
    assert wake.flush_all()  # the wake-up leaves the ack path in a background batch
    body = create_app(runtime=rt).test_client().get("/metrics").get_data(as_text=True)
    assert 'lianxin_inbox_rows{status="pending"} 1' in body
    assert "lianxin_inbox_duplicates_total 1" in body
    assert 'lianxin_queue_jobs{queue="inbound"} 1' in body
    assert "# TYPE lianxin_outbox_rows gauge" in body
