"""Cell values of hotline exports: text, ticket numbers and local date-times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_EXCEL_EPOCH = datetime(1899, 12, 30)
_DATETIME = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?\s*秒?)?\s*分?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")


def text(value: object) -> str:
    """A cell as stripped text; numbers typed into Excel lose their `.0`."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def local_datetime(value: object, tz: ZoneInfo) -> datetime | None:
    """A cell as an aware UTC instant, reading naive times as `tz` local time; None if blank.

    Raises ValueError when the cell holds something that is not a date and time.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        naive = value
    elif isinstance(value, date):
        naive = datetime(value.year, value.month, value.day)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        naive = _excel_serial(float(value))
    else:
        naive = _parse_text(str(value).strip())
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def _excel_serial(serial: float) -> datetime:
    if not 20000 < serial < 80000:  # 1954 … 2119: anything else is not a date someone typed
        raise ValueError("not a date")
    return _EXCEL_EPOCH + timedelta(days=serial)


def _parse_text(s: str) -> datetime:
    m = _DATETIME.match(s) or _COMPACT.match(s)
    if m:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in m.groups())
        return datetime(year, month, day, hour, minute, second)
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        raise ValueError("not a date") from None
