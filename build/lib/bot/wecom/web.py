"""The WeCom callback route: thin, verify → ingest → ack (protocol work lives in the gate)."""

from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.runtime import Runtime
from bot.wecom.gate import Ack, CallbackGate

CALLBACK_PATH = "/wecom/callback"


def blueprint(rt: Runtime) -> Blueprint:
    """The blueprint serving GET (URL verification) and POST (callbacks) on /wecom/callback."""
    bp = Blueprint("wecom", __name__)
    gate = CallbackGate(rt)

    @bp.get(CALLBACK_PATH)
    def verify_url() -> Response:
        return _respond(gate.verify_url(request.query_string, request.remote_addr or ""))

    @bp.post(CALLBACK_PATH)
    def callback() -> Response:
        remote = request.remote_addr or ""
        size = request.content_length
        if size is not None and size > gate.max_body:
            return _respond(gate.too_large(size, remote))
        try:
            body = _read_body(gate.max_body)
        except RequestEntityTooLarge:
            return _respond(gate.too_large(None, remote))
        return _respond(gate.receive(request.query_string, body, remote))

    return bp


def _read_body(limit: int) -> bytes:
    """The raw body; a chunked one is read past `limit` so an oversized body is seen as such
    (Flask's own limit would silently cut it at MAX_CONTENT_LENGTH)."""
    if request.content_length is not None:
        return request.get_data(cache=False)
    stream = request.environ.get("wsgi.input")
    if stream is None or not request.environ.get("wsgi.input_terminated"):
        return b""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(limit + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _respond(ack: Ack) -> Response:
    return Response(ack.body, status=ack.status, content_type=ack.content_type)
