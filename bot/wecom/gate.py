"""The callback gate: verify → record (inbox) → ack, independent of the web framework.

Order of checks: size, query shape, envelope shape (no XML parser), signature, timestamp
window, decryption, inner XML, then the nonce with the inbox insert. Nothing is recorded
unless every check passes. Refusals are logged with a reason (never a secret, never the body)
and counted. Nothing answers 500: a database outage or an unexpected error is a 503, which
WeCom retries.

Nonce: (timestamp, nonce) is a unique column of the inbox row, written by the same single
insert that records the callback (no Redis, no second round trip on the ack path). When the
insert is refused, the row holding the nonce decides: the same event is WeCom's retry of the
identical request (acked; the inbox dedupes it), another event is a replay and refused. A
retry racing a first attempt that then fails is still recorded, as nothing was written.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot import metrics
from bot.pipeline.ingest import ReplayedNonce, ingest
from bot.runtime import Runtime
from bot.wecom.callbacks import Classified, classify
from bot.wecom.crypto import CallbackCrypto, Refused, SignedQuery, extract_encrypt, parse_inner
from bot.wecom.crypto import parse_query as parse_signed_query

log = logging.getLogger(__name__)
NONCE_MAX = 100  # the inbox's nonce column


@dataclass(frozen=True)
class Ack:
    """What to answer the platform: status, body and content type."""

    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"


class CallbackGate:
    """Verifies and records WeCom callbacks for one runtime."""

    def __init__(self, rt: Runtime, clock: Callable[[], float] = time.time) -> None:
        self.rt = rt
        self.clock = clock
        cfg = rt.settings.wecom
        token = cfg.token.get_secret_value()
        key = cfg.encoding_aes_key.get_secret_value()
        self.crypto = CallbackCrypto(token, key, cfg.corp_id) if token and key else None
        self.window = cfg.replay_window_seconds
        self.max_body = rt.settings.web.max_body_bytes

    # -- entry points ------------------------------------------------------------------------

    def verify_url(self, raw_query: bytes, remote: str = "") -> Ack:
        """GET: answer the echostr plaintext (no quotes, BOM or newline)."""
        return self._guarded(self._verify_url, raw_query, b"", remote)

    def receive(self, raw_query: bytes, body: bytes, remote: str = "") -> Ack:
        """POST: verify, record once, ack (empty 200, or the passive reply)."""
        return self._guarded(self._receive, raw_query, body, remote)

    def _guarded(
        self, step: Callable[[bytes, bytes, str], Ack], query: bytes, body: bytes, remote: str
    ) -> Ack:
        try:
            return step(query, body, remote)
        except Exception:  # a bug must not become a 500 (or leak a traceback to the caller)
            log.exception("wecom callback failed unexpectedly (from %s)", remote)
            return Ack(503)

    def _verify_url(self, raw_query: bytes, _body: bytes, remote: str) -> Ack:
        try:
            crypto = self._crypto()
            query = parse_signed_query(raw_query)
            echostr = crypto.echostr_of(query)
            crypto.check(query, echostr)
            self._check_window(query)
            plaintext = crypto.decrypt(echostr)
        except Refused as exc:
            return self._refuse(exc, "verify", remote)
        log.info("wecom URL verification answered")
        return Ack(200, plaintext)

    def _receive(self, raw_query: bytes, body: bytes, remote: str) -> Ack:
        try:
            if len(body) > self.max_body:
                return self.too_large(len(body), remote)
            crypto = self._crypto()
            query = parse_signed_query(raw_query)
            encrypt = extract_encrypt(body)
            crypto.check(query, encrypt)
            self._check_window(query)
            inner_xml = crypto.decrypt(encrypt)
            inner = parse_inner(inner_xml)
            what = classify(inner, crypto.receive_id, inner_xml)
            if not self._record(what, query):
                return Ack(503)
        except Refused as exc:
            return self._refuse(exc, "callback", remote)
        if what.reply_xml is None:
            return Ack(200)
        envelope = crypto.encrypt_reply(what.reply_xml, query.nonce, query.timestamp)
        return Ack(200, envelope, "application/xml; charset=utf-8")

    def too_large(self, size: int | None, remote: str = "") -> Ack:
        """Refuse a body over the limit before reading it (413)."""
        shown = "unknown size" if size is None else f"{size} bytes"
        return self._refuse(Refused(413, f"body of {shown} over the limit"), "callback", remote)

    # -- steps -------------------------------------------------------------------------------

    def _crypto(self) -> CallbackCrypto:
        if self.crypto is None:
            raise Refused(403, "wecom token/encoding_aes_key not configured")
        return self.crypto

    def _check_window(self, query: SignedQuery) -> None:
        if self.window and abs(self.clock() - int(query.timestamp)) > self.window:
            raise Refused(403, f"timestamp outside the ±{self.window}s window")

    def _record(self, what: Classified, query: SignedQuery) -> bool:
        """Record the callback with its nonce; False when the database is unavailable."""
        nonce = f"{query.timestamp}:{query.nonce}"
        if len(nonce) > NONCE_MAX:  # WeCom's are short; a long one is kept unique by its hash
            nonce = nonce[:60] + "~" + hashlib.sha1(nonce.encode()).hexdigest()
        try:
            ingest(
                self.rt,
                source=what.source,
                key=what.key,
                payload=what.payload,
                conversation=what.conversation,
                nonce=nonce,
            )
        except ReplayedNonce:
            raise Refused(403, "nonce replayed with another event") from None
        except Exception as exc:  # database down: let WeCom retry, never a 500
            log.error("wecom callback not recorded (%s); answering 503", type(exc).__name__)
            return False
        return True

    def _refuse(self, exc: Refused, what: str, remote: str) -> Ack:
        log.warning("wecom %s refused %s: %s (from %s)", what, exc.status, exc.reason, remote)
        metrics.incr(self.rt, "http_refused")
        return Ack(exc.status)
