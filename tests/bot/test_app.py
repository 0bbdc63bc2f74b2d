"""The web app: health and metrics."""

from __future__ import annotations

from pathlib import Path

from bot import queue as q
from bot.app import create_app
from bot.pipeline.ingest import ingest
from bot.runtime import Runtime
from tests.support import RedisServer


def test_healthz_ok(rt: Runtime):
    client = create_app(runtime=rt).test_client()
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


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
    body = create_app(runtime=rt).test_client().get("/metrics").get_data(as_text=True)
    assert 'lianxin_inbox_rows{status="pending"} 1' in body
    assert "lianxin_inbox_duplicates_total 1" in body
    assert 'lianxin_queue_jobs{queue="inbound"} 1' in body
    assert "# TYPE lianxin_outbox_rows gauge" in body
