"""Read the workbench's filter forms into handler queries; bad values become "no filter"."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from handlers.workbench.caselist import SORTS, CaseFilter


def parse_date(text: str | None) -> date | None:
    """YYYY-MM-DD or None."""
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def case_filter(form: MultiDict[str, str], tz: ZoneInfo) -> CaseFilter:
    """The case list filter from a submitted form (POST: search terms stay out of URLs)."""
    first, last = parse_date(form.get("from")), parse_date(form.get("to"))
    return CaseFilter(
        status=form.get("status", ""),
        region_code=form.get("region", ""),
        station_id=_int(form.get("station")),
        deputy_id=_int(form.get("deputy")),
        category=form.get("category", ""),
        source=form.get("source", ""),
        overdue=form.get("overdue") == "1",
        merged=form.get("merged") == "1",
        opened_from=datetime.combine(first, time(0), tzinfo=tz) if first else None,
        opened_to=datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz) if last else None,
        q=form.get("q", "")[:100],
        sort=form.get("sort", "newest") if form.get("sort") in SORTS else "newest",
        page=_int(form.get("page")) or 1,
    )


def month_start(today: date) -> date:
    """The first day of `today`'s month (the default period of the 概览 page)."""
    return today.replace(day=1)
