"""WeCom callback crypto as the server side does it: sign, encrypt, envelope, open replies."""

from __future__ import annotations

import hashlib
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto


def sign(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """msg_signature = sha1 of the four values sorted and joined (WeCom 91144)."""
    joined = "".join(sorted([token, timestamp, nonce, encrypt]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def cdata(value: str) -> str:
    """Wrap text in CDATA, splitting any `]]>` so the XML stays well formed."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def percent_encoded_query(params: Mapping[str, str]) -> str:
    """Build a query string that percent-encodes `+`, `/` and `=` (a raw `+` decodes as space)."""
    return urlencode(dict(params), quote_via=quote, safe="")


def random_nonce() -> str:
    """A numeric nonce like the ones WeCom sends."""
    return "".join(secrets.choice(string.digits) for _ in range(10))


@dataclass(frozen=True)
class Envelope:
    """One signed, encrypted callback request: query parameters plus XML body."""

    msg_signature: str
    timestamp: str
    nonce: str
    body: str

    def query(self) -> str:
        """The percent-encoded query string for the POST."""
        return percent_encoded_query(
            {"msg_signature": self.msg_signature, "timestamp": self.timestamp, "nonce": self.nonce}
        )


class CallbackCrypto:
    """AES-256-CBC + signature for one callback configuration (token, key, receiveid)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.receive_id = receive_id
        self._wechat = WeChatCrypto(token, encoding_aes_key, receive_id)
        self._key: bytes = self._wechat.key

    def encrypt(self, plaintext: str) -> str:
        """Base64 ciphertext of rand16|len|msg|receiveid."""
        raw = PrpCrypto(self._key).encrypt(plaintext, self.receive_id)
        return raw.decode("ascii") if isinstance(raw, bytes) else str(raw)

    def decrypt(self, encrypt: str) -> str:
        """Plaintext of a base64 ciphertext; raises if the receiveid differs."""
        return str(PrpCrypto(self._key).decrypt(encrypt, self.receive_id))

    def envelope(self, inner_xml: str, *, timestamp: str, nonce: str, agent_id: int) -> Envelope:
        """Encrypt and sign an inner XML into the inbound envelope WeCom POSTs."""
        encrypt = self.encrypt(inner_xml)
        body = (
            f"<xml><ToUserName>{cdata(self.receive_id)}</ToUserName>"
            f"<Encrypt>{cdata(encrypt)}</Encrypt>"
            f"<AgentID>{cdata(str(agent_id))}</AgentID></xml>"
        )
        return Envelope(sign(self.token, timestamp, nonce, encrypt), timestamp, nonce, body)

    def echostr(self, plaintext: str, *, timestamp: str, nonce: str) -> tuple[str, str]:
        """(msg_signature, echostr) for a GET URL verification."""
        encrypt = self.encrypt(plaintext)
        return sign(self.token, timestamp, nonce, encrypt), encrypt

    def open_reply(self, body: str) -> str:
        """Verify and decrypt a passive-reply envelope; raises ValueError when it is invalid."""
        try:
            doc = xmltodict.parse(body)["xml"]
            encrypt = doc["Encrypt"]
            signature, timestamp, nonce = doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]
        except Exception as exc:  # malformed XML or a missing field
            raise ValueError(f"reply envelope unreadable: {exc!r}") from exc
        if sign(self.token, str(timestamp), str(nonce), str(encrypt)) != signature:
            raise ValueError("reply signature mismatch")
        try:
            return self.decrypt(str(encrypt))
        except Exception as exc:  # wrong key gives struct/unicode errors, wrong corp id its own
            raise ValueError(f"reply decrypt failed: {exc!r}") from exc
