"""Callback verification: raw query and body in, authenticated plaintext out (WeCom 91144).

The signature is checked on the raw query and on the `Encrypt` value cut from the raw body with
a strict pattern, before any XML parser sees a byte. Only the decrypted, authenticated inner
XML is parsed, with entities disabled and any DTD refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

_SIGNATURE = re.compile(r"^[0-9a-fA-F]{40}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_B64 = r"[A-Za-z0-9+/]+={0,2}"
# The envelope WeCom posts: <xml><ToUserName/>?<Encrypt/><AgentID/>?</xml>, CDATA or not.
_ENCRYPT = re.compile(
    rf"<Encrypt>\s*(?:<!\[CDATA\[({_B64})\]\]>|({_B64}))\s*</Encrypt>".encode("ascii")
)
_ENVELOPE = re.compile(rb"^\s*(?:<\?xml[^>]{0,200}\?>\s*)?<xml>.*</xml>\s*$", re.DOTALL)
_MAX_ECHOSTR = 4096


class Refused(Exception):
    """A callback that must not be processed: the HTTP status and a loggable reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class SignedQuery:
    """The signature parameters of a callback, decoded from the raw query string."""

    msg_signature: str
    timestamp: str
    nonce: str
    echostr: str | None = None


def parse_query(raw: bytes) -> SignedQuery:
    """Split the raw query without turning `+` into a space (echostr is base64)."""
    params: dict[str, str] = {}
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise Refused(400, "query is not ASCII") from None
    for part in text.split("&"):
        name, _, value = part.partition("=")
        if name in ("msg_signature", "timestamp", "nonce", "echostr"):
            if name in params:
                raise Refused(400, f"repeated query parameter {name}")
            params[name] = unquote(value)
    missing = [n for n in ("msg_signature", "timestamp", "nonce") if not params.get(n)]
    if missing:
        raise Refused(400, "missing " + ", ".join(missing))
    if not _TIMESTAMP.match(params["timestamp"]) or not _NONCE.match(params["nonce"]):
        raise Refused(400, "malformed timestamp or nonce")
    if not _SIGNATURE.match(params["msg_signature"]):
        raise Refused(403, "malformed msg_signature")
    return SignedQuery(
        params["msg_signature"].lower(), params["timestamp"], params["nonce"], params.get("echostr")
    )


def extract_encrypt(body: bytes) -> str:
    """The `Encrypt` value of an envelope, found without an XML parser; refuses DTDs."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise Refused(400, "DTD or entity in envelope")
    if not _ENVELOPE.match(body):
        raise Refused(400, "not an <xml> envelope")
    found = _ENCRYPT.findall(body)
    if len(found) != 1:
        raise Refused(400, "envelope needs exactly one Encrypt")
    cdata, plain = found[0]
    return (cdata or plain).decode("ascii")


class CallbackCrypto:
    """Signature, AES and inner-XML parsing for one (token, EncodingAESKey, receiveid)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.receive_id = receive_id
        self._wechat = WeChatCrypto(token, encoding_aes_key, receive_id)
        self._key: bytes = self._wechat.key

    def signature(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """sha1 of the four values sorted and joined."""
        joined = "".join(sorted([self.token, timestamp, nonce, encrypt]))
        return hashlib.sha1(joined.encode("utf-8")).hexdigest()

    def check(self, query: SignedQuery, encrypt: str) -> None:
        """Refuse (403) unless msg_signature matches; constant-time comparison."""
        expected = self.signature(query.timestamp, query.nonce, encrypt)
        if not hmac.compare_digest(expected, query.msg_signature):
            raise Refused(403, "bad signature")

    def decrypt(self, encrypt: str) -> str:
        """The plaintext; a wrong key or receiveid is refused (403), never an exception leak."""
        try:
            return str(PrpCrypto(self._key).decrypt(encrypt, self.receive_id))
        except Exception as exc:  # wrong key: struct/unicode/padding errors, not wechatpy's own
            raise Refused(403, f"decrypt failed ({type(exc).__name__})") from None

    @staticmethod
    def echostr_of(query: SignedQuery) -> str:
        """The echostr of a GET URL verification, refused (400) unless it is base64."""
        echostr = query.echostr or ""
        if not echostr or len(echostr) > _MAX_ECHOSTR or not re.fullmatch(_B64, echostr):
            raise Refused(400, "missing or malformed echostr")
        return echostr

    def encrypt_reply(self, plaintext: str, nonce: str, timestamp: str) -> str:
        """A passive-reply envelope for `plaintext` (reusing the request's nonce and time)."""
        return str(self._wechat.encrypt_message(plaintext, nonce, timestamp))


def parse_inner(plaintext: str) -> dict[str, Any]:
    """The decrypted callback XML as a flat dict; entities and DTDs are refused (400)."""
    if "<!DOCTYPE" in plaintext.upper() or "<!ENTITY" in plaintext.upper():
        raise Refused(400, "DTD or entity in message")
    try:
        doc = xmltodict.parse(plaintext, disable_entities=True)
    except Exception as exc:  # expat errors, entity refusal
        raise Refused(400, f"message XML unreadable ({type(exc).__name__})") from None
    inner = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(inner, dict):
        raise Refused(400, "message root is not <xml>")
    return inner
