"""The list of modules that register inbox processors and outbox senders."""

from __future__ import annotations

import importlib
import logging

log = logging.getLogger(__name__)

ADAPTER_MODULES = (
    "bot.wecom.jobs",
    "bot.dingtalk.jobs",
)

for _name in ADAPTER_MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
        log.debug("adapter %s not present", _name)
