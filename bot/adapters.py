"""Registration of the platform adapters, called by the composition roots only.

`create_app` (web), the worker and scheduler start-up (bot/commands.py), tests and benches call
`register_adapters()`; the pipeline finds processors and senders in `bot.pipeline.registry`.
"""

from __future__ import annotations

from bot.pipeline.registry import REGISTRY, Registry


def register_adapters() -> Registry:
    """Import every platform's job module; their decorators fill the registry (idempotent)."""
    import bot.dingtalk.jobs  # noqa: F401
    import bot.wecom.jobs  # noqa: F401

    return REGISTRY
