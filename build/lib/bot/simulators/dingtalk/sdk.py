"""Point an already-imported dingtalk_stream 0.24.3 at a local server (dingtalk.md §6)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# modules that copied DINGTALK_OPENAPI_ENDPOINT at import time
SDK_MODULES = (
    "dingtalk_stream.utils",
    "dingtalk_stream.stream",
    "dingtalk_stream.chatbot",
    "dingtalk_stream.card_replier",
)


def redirect_sdk(endpoint: str) -> Callable[[], None]:
    """Patch the SDK's endpoint copies (and OPEN_CONNECTION_API); returns a function to undo it.

    The SDK reads DINGTALK_OPENAPI_ENDPOINT once at import and `open_connection()` names
    `DingTalkStreamClient.OPEN_CONNECTION_API` explicitly, so a subclass attribute is not enough.
    """
    saved: list[tuple[Any, str, Any]] = []
    for name in SDK_MODULES:
        module: Any = importlib.import_module(name)
        saved.append((module, "DINGTALK_OPENAPI_ENDPOINT", module.DINGTALK_OPENAPI_ENDPOINT))
        module.DINGTALK_OPENAPI_ENDPOINT = endpoint
    client_cls = importlib.import_module("dingtalk_stream.stream").DingTalkStreamClient
    saved.append((client_cls, "OPEN_CONNECTION_API", client_cls.OPEN_CONNECTION_API))
    client_cls.OPEN_CONNECTION_API = endpoint + "/v1.0/gateway/connections/open"

    def restore() -> None:
        for target, attr, value in reversed(saved):
            setattr(target, attr, value)

    return restore
