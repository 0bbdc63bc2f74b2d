"""/wecom/callback over real HTTP: URL verification, official vectors, dedupe, refusals."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from bot import queue as q
from bot.config import WecomSettings
from bot.pipeline import wake
from bot.runtime import Runtime
from bot.simulators.wecom import CallbackCrypto, WeComSimulator, percent_encoded_query
from bot.simulators.wecom.inbound import kf_msg_or_event_xml
from storage.models import InboxItem
from tests.bot.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, OPEN_KFID, TOKEN
from tests.support import RedisServer, serve

FIXTURES = Path(__file__).parents[2] / "fixtures" / "wecom"
VECTORS = json.loads((FIXTURES / "official_vectors.json").read_text(encoding="utf-8"))


def inbox(rt: Runtime, source: str | None = None) -> list[InboxItem]:
    """Inbox rows, oldest first."""
    stmt = select(InboxItem).order_by(InboxItem.id)
    if source:
        stmt = stmt.where(InboxItem.source == source)
    with rt.sessions() as s:
        return list(s.scalars(stmt))


def signed_post(
    url: str,
    inner_xml: str,
    *,
    timestamp: str | None = None,
    nonce: str = "4242424242",
    crypto: CallbackCrypto | None = None,
) -> requests.Response:
    """POST one callback exactly as WeCom builds it (encrypted, signed, percent-encoded)."""
    crypto = crypto or CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    envelope = crypto.envelope(
        inner_xml, timestamp=timestamp or str(int(time.time())), nonce=nonce, agent_id=AGENT_ID
    )
    return requests.post(f"{url}?{envelope.query()}", data=envelope.body.encode(), timeout=5)


def kf_xml(token: str = "ENCtesttoken0001") -> str:
    """A kf_msg_or_event callback for our kf account."""
    return kf_msg_or_event_xml(
        corp_id=CORP_ID, create_time=int(time.time()), token=token, open_kfid=OPEN_KFID
    )


# ---------------------------------------------------------------- verification and vectors


def test_url_verification_answers_plaintext_within_a_second(
    sim: WeComSimulator, lianxin: str
) -> None:
    started = time.monotonic()
    body = sim.verify_url()
    assert time.monotonic() - started < 1.0
    assert sim.last_verification is not None
    assert body == sim.last_verification[0] and body.isdigit()


def _vector_runtime(rt: Runtime, **wecom: object) -> Runtime:
    cfg = WecomSettings.model_validate(
        {
            "corp_id": VECTORS["corp_id"],
            "token": VECTORS["token"],
            "encoding_aes_key": VECTORS["encoding_aes_key"],
            **wecom,
        }
    )
    settings = rt.settings.model_copy(update={"wecom": cfg})
    return Runtime(settings, rt.engine, rt.sessions, rt.redis_url, rt.redis)


def test_official_vectors_pass_through_the_endpoint_with_the_window_off(rt: Runtime) -> None:
    # the vectors date from 2016: only a deployment with the replay window off accepts them
    v, d = VECTORS["verify_url"], VECTORS["decrypt_msg"]
    with serve(_vector_runtime(rt, replay_window_seconds=0)) as url:
        query = percent_encoded_query(
            {k: v[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
        )
        got = requests.get(f"{url}?{query}", timeout=5)
        assert got.status_code == 200 and got.text == v["plaintext"]

        body = (
            f"<xml><ToUserName><![CDATA[{VECTORS['corp_id']}]]></ToUserName>"
            f"<Encrypt><![CDATA[{d['encrypt']}]]></Encrypt>"
            "<AgentID><![CDATA[1000002]]></AgentID></xml>"
        )
        query = percent_encoded_query({k: d[k] for k in ("msg_signature", "timestamp", "nonce")})
        posted = requests.post(f"{url}?{query}", data=body.encode(), timeout=5)
        assert posted.status_code == 200 and posted.text == ""
    [row] = inbox(rt)
    assert (row.source, row.key) == ("wecom_app", "msg:1456453720")
    assert row.payload == d["plaintext"]


def test_official_vectors_are_stale_for_the_default_window(rt: Runtime) -> None:
    v = VECTORS["verify_url"]
    with serve(_vector_runtime(rt)) as url:
        query = percent_encoded_query(
            {k: v[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")}
        )
        assert requests.get(f"{url}?{query}", timeout=5).status_code == 403


# ---------------------------------------------------------------- recording and redelivery


def test_kf_callback_is_recorded_and_acked_empty(
    sim: WeComSimulator, lianxin: str, rt: Runtime
) -> None:
    sim.user_text("wm-alice", "你好")
    [delivery] = sim.deliveries
    assert delivery.statuses == [200] and delivery.ok
    [row] = inbox(rt)
    assert row.source == "wecom_kf_event" and row.key.startswith(OPEN_KFID + ":ENC")
    assert "<Event><![CDATA[kf_msg_or_event]]></Event>" in row.payload


def test_the_same_callback_three_times_is_recorded_once(lianxin: str, rt: Runtime) -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
    envelope = crypto.envelope(
        kf_xml(), timestamp=str(int(time.time())), nonce="777", agent_id=AGENT_ID
    )
    statuses = [
        requests.post(
            f"{lianxin}?{envelope.query()}", data=envelope.body.encode(), timeout=5
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    assert len(inbox(rt)) == 1
    assert wake.flush_all()
    assert rt.queue(q.INBOUND_QUEUE).count == 1  # one wake-up; the retries woke nobody


def test_a_retry_with_a_fresh_nonce_is_deduped_by_the_inbox(lianxin: str, rt: Runtime) -> None:
    # WeCom's retries repeat the request; should one ever differ, the inbox key still holds
    assert signed_post(lianxin, kf_xml(), nonce="1").status_code == 200
    assert signed_post(lianxin, kf_xml(), nonce="2").status_code == 200
    assert len(inbox(rt)) == 1


# ---------------------------------------------------------------- refusals


def test_wrong_signature_is_403_and_not_recorded(lianxin: str, rt: Runtime) -> None:
    crypto = CallbackCrypto("another-token", AES_KEY, CORP_ID)
    assert signed_post(lianxin, kf_xml(), crypto=crypto).status_code == 403
    assert inbox(rt) == []


def test_wrong_key_is_403(lianxin: str, rt: Runtime) -> None:
    crypto = CallbackCrypto(TOKEN, "Z" * 43, CORP_ID)
    assert signed_post(lianxin, kf_xml(), crypto=crypto).status_code == 403
    assert inbox(rt) == []


def test_other_corp_is_403(lianxin: str, rt: Runtime) -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY, "wwsomeoneelse")
    assert signed_post(lianxin, kf_xml(), crypto=crypto).status_code == 403
    assert inbox(rt) == []


def test_stale_timestamp_is_403(lianxin: str, rt: Runtime) -> None:
    old = str(int(time.time()) - 301)
    assert signed_post(lianxin, kf_xml(), timestamp=old).status_code == 403
    future = str(int(time.time()) + 301)
    assert signed_post(lianxin, kf_xml(), timestamp=future).status_code == 403
    assert inbox(rt) == []


def test_nonce_replayed_with_another_body_is_403(lianxin: str, rt: Runtime) -> None:
    ts = str(int(time.time()))
    assert signed_post(lianxin, kf_xml("ENCfirst"), timestamp=ts, nonce="55").status_code == 200
    assert signed_post(lianxin, kf_xml("ENCsecond"), timestamp=ts, nonce="55").status_code == 403
    assert [r.key for r in inbox(rt)] == [f"{OPEN_KFID}:ENCfirst"]


def test_missing_parameters_and_malformed_envelopes_are_400(lianxin: str, rt: Runtime) -> None:
    assert requests.post(lianxin, data=b"<xml></xml>", timeout=5).status_code == 400
    query = "msg_signature=" + "0" * 40 + "&timestamp=1&nonce=1"
    for body in (b"", b"not xml", b"<xml><Encrypt>abc</Encrypt>", b"<xml></xml>"):
        assert requests.post(f"{lianxin}?{query}", data=body, timeout=5).status_code == 400
    assert requests.get(lianxin, timeout=5).status_code == 400
    assert inbox(rt) == []


def test_oversized_body_is_413(lianxin: str, rt: Runtime) -> None:
    limit = rt.settings.web.max_body_bytes
    query = "msg_signature=" + "0" * 40 + "&timestamp=1&nonce=1"
    body = b"<xml><Encrypt>" + b"A" * limit + b"</Encrypt></xml>"
    assert requests.post(f"{lianxin}?{query}", data=body, timeout=5).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit still holds
        yield b"<xml><Encrypt>"
        for _ in range(limit // 1024 + 2):
            yield b"A" * 1024

    assert requests.post(f"{lianxin}?{query}", data=chunks(), timeout=5).status_code == 413
    assert inbox(rt) == []


def test_refusals_are_logged_with_a_reason_and_no_secret(
    lianxin: str, rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    crypto = CallbackCrypto("another-token", AES_KEY, CORP_ID)
    with caplog.at_level(logging.WARNING, logger="bot.wecom"):
        signed_post(lianxin, kf_xml(), crypto=crypto)
    [record] = [r for r in caplog.records if "refused" in r.getMessage()]
    message = record.getMessage()
    assert "403" in message and "bad signature" in message
    for secret in (TOKEN, AES_KEY, "another-token"):
        assert secret not in message


def test_redis_down_still_records_and_still_refuses_a_replayed_nonce(
    rt: Runtime, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(tmp_path / "r")
    server.start()
    server.stop()
    down = Runtime(
        rt.settings, rt.engine, rt.sessions, server.url, q.connect(server.url, fast_fail=True)
    )
    ts = str(int(time.time()))
    with serve(down) as url, caplog.at_level(logging.WARNING):
        assert signed_post(url, kf_xml("ENCone"), timestamp=ts, nonce="31").status_code == 200
        # the nonce lives in the inbox row, not in Redis: a replay is refused all the same
        assert signed_post(url, kf_xml("ENCtwo"), timestamp=ts, nonce="31").status_code == 403
        assert wake.flush_all()
    assert [r.key for r in inbox(rt)] == [f"{OPEN_KFID}:ENCone"]
    # the wake-up is lost with Redis; the sweeper wakes the row once Redis is back
    assert any("not woken" in r.getMessage() for r in caplog.records)


def test_database_down_is_503_not_500_and_the_retry_is_recorded(
    rt: Runtime, tmp_path: Path
) -> None:
    from storage.db import make_engine, make_session_factory

    broken = make_engine(f"sqlite:///{tmp_path / 'missing' / 'nodb.sqlite'}")
    (tmp_path / "missing").rmdir()  # make_engine created the folder; without it connect fails
    down = Runtime(rt.settings, broken, make_session_factory(broken), rt.redis_url, rt.redis)
    envelope = CallbackCrypto(TOKEN, AES_KEY, CORP_ID).envelope(
        kf_xml(), timestamp=str(int(time.time())), nonce="9001", agent_id=AGENT_ID
    )
    with serve(down) as url:
        for _ in range(2):  # WeCom's retry of the identical request is not taken as done
            answer = requests.post(f"{url}?{envelope.query()}", data=envelope.body, timeout=5)
            assert answer.status_code == 503
    with rt.sessions() as s:
        assert s.scalar(select(func.count(InboxItem.id))) == 0
    with serve(rt) as url:  # the database is back: WeCom's next retry is recorded
        answer = requests.post(f"{url}?{envelope.query()}", data=envelope.body, timeout=5)
        assert answer.status_code == 200
    assert len(inbox(rt)) == 1
