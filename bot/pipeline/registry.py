"""Which code processes each inbound source and sends each outbound channel.

Platform adapters register here (their job modules' decorators) when a composition root calls
`bot.adapters.register_adapters()`; the pipeline only reads the table, never imports adapters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.runtime import Runtime
from storage.models import InboxItem, OutboxItem

Processor = Callable[[Runtime, Session, InboxItem], None]
# A processor that does network I/O manages its own short transactions (holding a database
# transaction across an HTTP call would block writers on SQLite) and must mark the row done
# atomically with its effects (`storage.inbox.mark_done`).
IOProcessor = Callable[[Runtime, int], None]
Sender = Callable[[Runtime, OutboxItem], dict[str, Any] | None]


class SendError(Exception):
    """A send failed; `retryable` decides between backoff and giving up."""

    def __init__(
        self,
        message: str,
        *,
        code: str | int | None = None,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable
        self.retry_after = retry_after

    def describe(self) -> str:
        """The error as stored on the outbox row: code and meaning."""
        return f"[{self.code}] {self}" if self.code is not None else str(self)


class HoldSend(Exception):
    """The send must wait for an outside event (e.g. WeCom's 48-hour budget is spent)."""


@dataclass
class Registry:
    """Processors by inbox source and senders by outbox channel."""

    processors: dict[str, Processor]
    io_processors: dict[str, IOProcessor]
    senders: dict[str, Sender]


REGISTRY = Registry(processors={}, io_processors={}, senders={})


def processor(source: str) -> Callable[[Processor], Processor]:
    """Register the function that processes inbox rows of `source`."""

    def wrap(fn: Processor) -> Processor:
        REGISTRY.processors[source] = fn
        return fn

    return wrap


def io_processor(source: str) -> Callable[[IOProcessor], IOProcessor]:
    """Register a processor for `source` that runs outside the job's transaction."""

    def wrap(fn: IOProcessor) -> IOProcessor:
        REGISTRY.io_processors[source] = fn
        return fn

    return wrap


def sender(channel: str) -> Callable[[Sender], Sender]:
    """Register the function that sends outbox rows of `channel`."""

    def wrap(fn: Sender) -> Sender:
        REGISTRY.senders[channel] = fn
        return fn

    return wrap


class NotRegistered(RuntimeError):
    """No adapter registered anything: the process's composition root forgot to."""


def registry() -> Registry:
    """The registered processors and senders; raises when nothing was registered at all (a
    worker that would otherwise mark every row as having no processor)."""
    if not (REGISTRY.processors or REGISTRY.io_processors or REGISTRY.senders):
        raise NotRegistered("no adapters registered; call bot.adapters.register_adapters()")
    return REGISTRY
