"""Sending encrypted callbacks the way WeCom does: 5 s timeout, retries, reply verification."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field

import requests

from bot.simulators.wecom.crypto import CallbackCrypto, percent_encoded_query, random_nonce
from bot.simulators.wecom.support import SimClock

TIMEOUT_STATUS = 0  # recorded for an attempt that timed out or could not connect
VERIFY_TIMEOUT = 1.0  # WeCom wants the echostr plaintext within 1 s


@dataclass
class CallbackDelivery:
    """One callback as WeCom sent it, with every attempt's outcome."""

    kind: str
    inner_xml: str
    statuses: list[int] = field(default_factory=list)
    reply_plaintext: str | None = None
    reply_error: str | None = None

    @property
    def final_status(self) -> int:
        """HTTP status of the last attempt (0 = timeout/connection error or no URL)."""
        return self.statuses[-1] if self.statuses else TIMEOUT_STATUS

    @property
    def ok(self) -> bool:
        """Whether the receiver finally answered 200 with an acceptable body."""
        return self.final_status == 200 and self.reply_error is None


def _join(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query


class CallbackSender:
    """POSTs envelopes to the callback URL; one attempt plus `retries` more on failure."""

    def __init__(
        self,
        crypto: CallbackCrypto,
        *,
        agent_id: int,
        clock: SimClock,
        timeout: float,
        retries: int,
    ) -> None:
        self._crypto = crypto
        self._agent_id = agent_id
        self._clock = clock
        self.timeout = timeout
        self.retries = retries

    def deliver(self, url: str | None, kind: str, inner_xml: str) -> CallbackDelivery:
        """Send one callback; retries reuse the identical request (same inner XML and query)."""
        delivery = CallbackDelivery(kind, inner_xml)
        if not url:
            delivery.reply_error = "no callback_url configured"
            return delivery
        envelope = self._crypto.envelope(
            inner_xml,
            timestamp=str(int(self._clock.now())),
            nonce=random_nonce(),
            agent_id=self._agent_id,
        )
        target = _join(url, envelope.query())
        body = ""
        with requests.Session() as session:
            session.trust_env = False  # never route a local callback through a proxy
            for _ in range(1 + self.retries):
                status, body = self._attempt(session, target, envelope.body)
                delivery.statuses.append(status)
                if status == 200:
                    break
        if delivery.final_status == 200 and body.strip():
            try:
                delivery.reply_plaintext = self._crypto.open_reply(body)
            except ValueError as exc:
                delivery.reply_error = str(exc)
        return delivery

    def _attempt(self, session: requests.Session, target: str, body: str) -> tuple[int, str]:
        try:
            response = session.post(
                target,
                data=body.encode("utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8"},
                timeout=self.timeout,
            )
        except requests.RequestException:
            return TIMEOUT_STATUS, ""
        return response.status_code, response.text

    def verify(self, url: str) -> tuple[str, str]:
        """GET URL verification: returns (echostr plaintext, body the receiver answered)."""
        plaintext = "".join(secrets.choice(string.digits) for _ in range(19))
        timestamp, nonce = str(int(self._clock.now())), random_nonce()
        signature, echostr = self._crypto.echostr(plaintext, timestamp=timestamp, nonce=nonce)
        query = percent_encoded_query(
            {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
        )
        with requests.Session() as session:
            session.trust_env = False
            try:
                response = session.get(_join(url, query), timeout=VERIFY_TIMEOUT)
            except requests.RequestException:
                return plaintext, ""
        return plaintext, response.text
