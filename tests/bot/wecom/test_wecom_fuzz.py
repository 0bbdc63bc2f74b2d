"""Fuzzed callbacks at the real endpoint: always 400/403/413, never a 500, nothing recorded."""

from __future__ import annotations

import itertools
import time
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.simulators.wecom import CallbackCrypto, percent_encoded_query, sign
from bot.simulators.wecom.inbound import kf_msg_or_event_xml
from storage.models import InboxItem
from tests.bot.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, OPEN_KFID, TOKEN

REFUSED = {400, 403, 413}
FUZZ = hsettings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HTTP = requests.Session()
HTTP.trust_env = False
CRYPTO = CallbackCrypto(TOKEN, AES_KEY, CORP_ID)
NONCES = itertools.count(10_000)  # a fresh nonce per request: a reused one is a replay

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]>'
    "<xml><ToUserName>&e;</ToUserName><MsgType>text</MsgType><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><Content>&xxe;</Content><MsgType>text</MsgType><MsgId>2</MsgId></xml>"
)
PARAMETER_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/x.dtd">'
    "%remote;]><xml><MsgType>text</MsgType><MsgId>3</MsgId></xml>"
)


def recorded(rt: Runtime) -> int:
    """How many inbox rows exist."""
    with rt.sessions() as s:
        return int(s.scalar(select(func.count(InboxItem.id))) or 0)


def valid_envelope(inner: str) -> tuple[str, bytes]:
    """(query, body) of a correctly signed and encrypted callback."""
    envelope = CRYPTO.envelope(
        inner, timestamp=str(int(time.time())), nonce=str(next(NONCES)), agent_id=AGENT_ID
    )
    return envelope.query(), envelope.body.encode("utf-8")


def post(url: str, query: str, body: bytes) -> int:
    """POST and return the status."""
    return HTTP.post(f"{url}?{query}" if query else url, data=body, timeout=5).status_code


def kf_inner() -> str:
    """A real kf callback document."""
    return kf_msg_or_event_xml(
        corp_id=CORP_ID, create_time=int(time.time()), token="ENCfuzz", open_kfid=OPEN_KFID
    )


queries = st.one_of(
    st.just(""),
    st.builds(
        lambda sig, ts, nonce: percent_encoded_query(
            {"msg_signature": sig, "timestamp": ts, "nonce": nonce}
        ),
        st.text("0123456789abcdef", min_size=40, max_size=40),
        st.integers(0, 2**40).map(str),
        st.text("0123456789", min_size=1, max_size=12),
    ),
    st.binary(max_size=200).map(lambda b: quote(b, safe="=&")),
)


@FUZZ
@given(query=queries, body=st.binary(max_size=4096))
def test_random_bytes_are_refused(lianxin: str, rt: Runtime, query: str, body: bytes) -> None:
    assert post(lianxin, query, body) in REFUSED
    assert recorded(rt) == 0


@FUZZ
@given(data=st.data())
def test_truncated_or_mutated_envelopes_are_refused(
    lianxin: str, rt: Runtime, data: st.DataObject
) -> None:
    query, body = valid_envelope(kf_inner())
    cut = data.draw(st.integers(0, len(body) - 1), label="cut")
    assert post(lianxin, query, body[:cut]) in REFUSED
    position = data.draw(st.integers(0, len(body) - 1), label="position")
    flipped = bytes([body[position] ^ data.draw(st.integers(1, 255), label="xor")])
    mutated = body[:position] + flipped + body[position + 1 :]
    status = post(lianxin, query, mutated)
    # a flip inside CDATA markup or the ToUserName/AgentID text leaves Encrypt intact: accepted
    assert status in REFUSED or (status == 200 and b"<Encrypt>" in mutated)
    assert recorded(rt) <= 1


@FUZZ
@given(inner=st.text(max_size=500).filter(lambda t: not t.lstrip().startswith("<xml")))
def test_signed_garbage_inside_is_400(lianxin: str, rt: Runtime, inner: str) -> None:
    query, body = valid_envelope(inner or " ")
    assert post(lianxin, query, body) == 400
    assert recorded(rt) == 0


@FUZZ
@given(
    key=st.text(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=43, max_size=43
    ).filter(lambda k: k != AES_KEY)
)
def test_a_wrong_key_is_403(lianxin: str, rt: Runtime, key: str) -> None:
    other = CallbackCrypto(TOKEN, key, CORP_ID)
    envelope = other.envelope(
        kf_inner(), timestamp=str(int(time.time())), nonce=str(next(NONCES)), agent_id=AGENT_ID
    )
    assert post(lianxin, envelope.query(), envelope.body.encode()) == 403
    assert recorded(rt) == 0


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY])
def test_entities_are_refused_inside_and_outside(lianxin: str, rt: Runtime, document: str) -> None:
    # inside: encrypted and correctly signed
    query, body = valid_envelope(document)
    assert post(lianxin, query, body) == 400
    # outside: the envelope itself carries the DTD, signed over its Encrypt value
    encrypt = CRYPTO.encrypt(kf_inner())
    ts, nonce = str(int(time.time())), str(next(NONCES))
    outer = document.replace("<xml>", f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>", 1)
    query = percent_encoded_query(
        {"msg_signature": sign(TOKEN, ts, nonce, encrypt), "timestamp": ts, "nonce": nonce}
    )
    assert post(lianxin, query, outer.encode()) == 400
    assert recorded(rt) == 0
