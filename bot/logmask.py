"""A logging filter that masks personal data in every log line."""

from __future__ import annotations

import logging
import threading

from handlers.privacy import mask_text

_busy = threading.local()


class MaskingFilter(logging.Filter):
    """Replaces a record's message (and traceback) with its masked form before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        if getattr(_busy, "on", False):
            return True  # a record logged by the masker's own loading (jieba): no user text
        _busy.on = True
        try:
            _mask_record(record)
        finally:
            _busy.on = False
        return True


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return  # a broken format string: let logging report it as usual
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask_text(record.exc_text)


def install(handlers: list[logging.Handler] | None = None) -> None:
    """Add the masking filter to the given handlers (default: the root logger's)."""
    for handler in handlers if handlers is not None else logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
