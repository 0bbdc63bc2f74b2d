"""Check one row of a hotline export: a validated, still unmasked Ticket or a RowError."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from handlers.hotline import values
from handlers.hotline.columns import label
from handlers.hotline.mapping import Mapping, category_path
from handlers.lifecycle import Status
from handlers.privacy import mask_text

MAX_TICKET_NO = 64
_LIST_AT_MOST = 12  # allowed values named in a message


@dataclass(frozen=True)
class RowError:
    """One bad row: its number as the spreadsheet shows it (header = its own row) and why."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class Ticket:
    """A checked row. It still holds raw text: it is masked before anything is stored."""

    row: int
    ticket_no: str
    called_at: datetime
    content: str
    status: str
    raw_status: str | None
    address: str | None = None
    region_id: int | None = None
    raw_category: str | None = None
    category: str | None = None
    nature: str | None = None
    handling_unit: str | None = None
    closed_at: datetime | None = None
    answer: str | None = None
    resolved: str | None = None
    satisfied: str | None = None
    caller_name: str = ""
    caller_phone: str = ""


@dataclass
class Regions:
    """Our regions by name and code; a name two regions share must be mapped explicitly."""

    ids: dict[str, int] = field(default_factory=dict)  # name or code → id
    ambiguous: set[str] = field(default_factory=set)
    names: list[str] = field(default_factory=list)  # for messages

    @classmethod
    def of(cls, rows: list[tuple[int, str, str]]) -> Regions:
        """From (id, code, name) triples."""
        found = cls(names=[name for _, _, name in rows])
        by_name: dict[str, set[int]] = {}
        for rid, _code, name in rows:
            by_name.setdefault(name, set()).add(rid)
        for name, ids in by_name.items():
            if len(ids) == 1:
                found.ids[name] = next(iter(ids))
            else:
                found.ambiguous.add(name)
        found.ids.update({code: rid for rid, code, _ in rows})  # codes are unique
        return found


@dataclass
class RowChecker:
    """Checks rows in file order; remembers ticket numbers so a repeat names the first row."""

    mapping: Mapping
    regions: Regions
    tz: ZoneInfo
    seen: dict[str, int] = field(default_factory=dict)

    def check(self, row: int, cells: dict[str, object]) -> Ticket | RowError:
        """The row as a Ticket, or the first problem found in it."""
        try:
            return self._ticket(row, cells)
        except _Bad as bad:
            return RowError(row, str(bad))

    def _ticket(self, row: int, cells: dict[str, object]) -> Ticket:
        get = {k: values.text(v) for k, v in cells.items()}
        ticket_no = get.get("ticket_no", "")
        if not ticket_no:
            raise _Bad(f"{label('ticket_no')} is empty")
        if len(ticket_no) > MAX_TICKET_NO:
            raise _Bad(f"{label('ticket_no')} is longer than {MAX_TICKET_NO} characters")
        if ticket_no in self.seen:
            raise _Bad(
                f"{label('ticket_no')} {_shown(ticket_no)} is already on row {self.seen[ticket_no]}"
            )
        called_at = self._when(cells, "called_at")
        if called_at is None:
            raise _Bad(f"{label('called_at')} is empty")
        closed_at = self._when(cells, "closed_at")
        if closed_at is not None and closed_at < called_at:
            raise _Bad(f"{label('closed_at')} is earlier than {label('called_at')}")
        content = get.get("content", "")
        if not content:
            raise _Bad(f"{label('content')} is empty")
        raw_status = get.get("status") or None
        path = category_path(get.get("category", "")) or None
        ticket = Ticket(
            row=row,
            ticket_no=ticket_no,
            called_at=called_at,
            content=content,
            status=self._status(raw_status, closed_at),
            raw_status=raw_status,
            address=get.get("address") or None,
            region_id=self._region(get.get("region", "")),
            raw_category=path[:256] if path else None,
            category=self.mapping.category_of(path) if path else None,
            nature=(get.get("nature") or None),
            handling_unit=(get.get("handling_unit") or "")[:128] or None,
            closed_at=closed_at,
            answer=get.get("answer") or None,
            resolved=self._word("resolved", get.get("resolved", ""), self.mapping.resolved),
            satisfied=self._word("satisfied", get.get("satisfied", ""), self.mapping.satisfaction),
            caller_name=get.get("caller_name", ""),
            caller_phone=get.get("caller_phone", ""),
        )
        if ticket.nature is not None and len(ticket.nature) > 16:
            raise _Bad(f"{label('nature')} {_shown(ticket.nature)} is longer than 16 characters")
        self.seen[ticket_no] = row
        return ticket

    def _when(self, cells: dict[str, object], name: str) -> datetime | None:
        try:
            return values.local_datetime(cells.get(name), self.tz)
        except (ValueError, OverflowError):
            raise _Bad(
                f"{label(name)} {_shown(values.text(cells.get(name)))} is not a date and time"
            ) from None

    def _status(self, raw: str | None, closed_at: datetime | None) -> str:
        if raw is None:  # no status written: a closing date says it is closed
            return Status.CLOSED.value if closed_at else Status.ACCEPTED.value
        found = self.mapping.statuses.get(raw)
        if found is None:
            known = _some(self.mapping.statuses)
            raise _Bad(
                f"{label('status')} {_shown(raw)} is unknown (known: {known}; "
                "add it under statuses: in --mapping)"
            )
        return found

    def _region(self, name: str) -> int | None:
        if not name:
            return None
        code = self.mapping.regions.get(name)
        if code is not None:
            if code not in self.regions.ids:
                raise _Bad(
                    f"--mapping maps {label('region')} {_shown(name)} to {code!r}, "
                    "which is not a region code"
                )
            return self.regions.ids[code]
        if name in self.regions.ambiguous:
            raise _Bad(
                f"{label('region')} {_shown(name)} names more than one region; "
                "map it to a code under regions: in --mapping"
            )
        found = self.regions.ids.get(name)
        if found is None:
            known = _some(self.regions.names) or "none: import the directory first"
            raise _Bad(
                f"{label('region')} {_shown(name)} is not one of our regions (known: {known}; "
                "map it under regions: in --mapping)"
            )
        return found

    def _word(self, name: str, raw: str, table: dict[str, str]) -> str | None:
        if not raw:
            return None
        found = table.get(raw)
        if found is None:
            raise _Bad(f"{label(name)} {_shown(raw)} is unknown (known: {_some(table)})")
        return found


class _Bad(Exception):
    pass


def _shown(value: str) -> str:
    """A cell value quoted for a message, masked: messages are logged and forwarded."""
    short = value if len(value) <= 40 else value[:39] + "…"
    return repr(mask_text(short))


def _some(names: object) -> str:
    items = list(names)  # type: ignore[call-overload]
    shown = "、".join(str(n) for n in items[:_LIST_AT_MOST])
    return shown + (f" … ({len(items)} in all)" if len(items) > _LIST_AT_MOST else "")
