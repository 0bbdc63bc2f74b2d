"""The floor for bench/wecom_callbacks.py: a bare verify → decrypt → ack WSGI app.

Same framework (Flask), same crypto (bot.wecom.crypto) and the same gunicorn settings as
lianxin's web tier, but it records nothing: the difference in latency is what recording costs.
Settings come from the same LIANXIN_WECOM__* variables lianxin reads.

    gunicorn -k gthread 'bench.floor_app:app'
"""

from __future__ import annotations

import os

from flask import Flask, Response, request

from bot.wecom.crypto import CallbackCrypto, Refused, extract_encrypt, parse_inner, parse_query


def create_floor_app() -> Flask:
    """The floor app, configured from the environment."""
    crypto = CallbackCrypto(
        os.environ["LIANXIN_WECOM__TOKEN"],
        os.environ["LIANXIN_WECOM__ENCODING_AES_KEY"],
        os.environ["LIANXIN_WECOM__CORP_ID"],
    )
    app = Flask("lianxin-floor")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok")

    @app.post("/wecom/callback")
    def callback() -> Response:
        try:
            query = parse_query(request.query_string)
            encrypt = extract_encrypt(request.get_data(cache=False))
            crypto.check(query, encrypt)
            parse_inner(crypto.decrypt(encrypt))
        except Refused as exc:
            return Response("", status=exc.status)
        return Response("", status=200)

    return app


app = create_floor_app()
