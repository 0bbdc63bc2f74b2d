"""Write checked, masked 12345 work orders as cases of source "12345", by 工单编号.

Everything here is already masked; this module stores what it is given. Rows go in chunks of
bulk INSERT/UPDATE statements inside the caller's transaction, so an import is all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from storage.models import Base, Case, CaseEvent, Constituent, HotlineTicket, Rating

SOURCE = "12345"
CHUNK = 500
RATING_SEQ = 1  # the hotline's 回访 is the one rating of a work order
# Imported cases need a constituent; callers are never stored, so they all share this one.
_PLACEHOLDER = {"channel": SOURCE, "external_id": SOURCE}


@dataclass(frozen=True)
class TicketRecord:
    """One work order as stored: text, answer and address masked; the caller only hashed."""

    ticket_no: str
    called_at: datetime
    text: str
    status: str
    raw_status: str | None = None
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
    caller_hash: str | None = None


FIELDS = tuple(f.name for f in fields(TicketRecord))


@dataclass
class WriteCounts:
    """How many work orders were created, updated or found unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def source_constituent_id(session: Session) -> int:
    """The id of the shared constituent that imported 12345 cases point at (created once)."""
    found = session.scalar(
        select(Constituent.id).where(
            Constituent.channel == _PLACEHOLDER["channel"],
            Constituent.external_id == _PLACEHOLDER["external_id"],
        )
    )
    if found is not None:
        return int(found)
    person = Constituent(**_PLACEHOLDER)
    session.add(person)
    session.flush()
    return person.id


def upsert_tickets(
    session: Session,
    records: Iterable[TicketRecord],
    *,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> WriteCounts:
    """Create new work orders and update changed ones, matched by ticket_no."""
    constituent_id = source_constituent_id(session)
    counts = WriteCounts()
    done = 0
    for chunk in _chunks(records, CHUNK):
        current = _current(session, [r.ticket_no for r in chunk])
        fresh = [r for r in chunk if r.ticket_no not in current]
        changed = [(current[r.ticket_no], r) for r in chunk if r.ticket_no in current]
        changed = [(old, r) for old, r in changed if old[1] != r]
        case_of = _insert(session, fresh, constituent_id, now)
        case_of.update({r.ticket_no: ids[0] for (ids, _old), r in changed})
        _update(session, changed, now)
        _ratings(session, fresh, changed, case_of, constituent_id)
        counts.created += len(fresh)
        counts.updated += len(changed)
        counts.unchanged += len(chunk) - len(fresh) - len(changed)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return counts


def _chunks(records: Iterable[TicketRecord], size: int) -> Iterator[list[TicketRecord]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield chunk


_CASE_COLUMNS = {
    "called_at": Case.created_at,
    "text": Case.text,
    "status": Case.status,
    "region_id": Case.region_id,
    "category": Case.category,
    "closed_at": Case.closed_at,
    "answer": Case.answer,
}
_TICKET_COLUMNS = (
    "raw_status",
    "address",
    "raw_category",
    "nature",
    "handling_unit",
    "resolved",
    "satisfied",
    "caller_hash",
)


def _current(
    session: Session, numbers: list[str]
) -> dict[str, tuple[tuple[int, int], TicketRecord]]:
    """Stored work orders among `numbers`: (case id, ticket id) and the record as stored."""
    stmt = (
        select(
            HotlineTicket.ticket_no,
            HotlineTicket.id,
            Case.id,
            *_CASE_COLUMNS.values(),
            *(getattr(HotlineTicket, c) for c in _TICKET_COLUMNS),
        )
        .join(Case, Case.id == HotlineTicket.case_id)
        .where(HotlineTicket.ticket_no.in_(numbers))
    )
    out: dict[str, tuple[tuple[int, int], TicketRecord]] = {}
    for row in session.execute(stmt):
        ticket_no, ticket_id, case_id, *rest = row
        data = dict(zip((*_CASE_COLUMNS, *_TICKET_COLUMNS), rest, strict=True))
        out[ticket_no] = ((case_id, ticket_id), TicketRecord(ticket_no=ticket_no, **data))
    return out


def _case_values(r: TicketRecord) -> dict[str, Any]:
    return {
        "status": r.status,
        "region_id": r.region_id,
        "category": r.category,
        "text": r.text,
        "answer": r.answer,
        "rating": r.satisfied,
        "location_label": r.address[:256] if r.address else None,
        "created_at": r.called_at,
        "closed_at": r.closed_at,
    }


def _ticket_values(r: TicketRecord) -> dict[str, Any]:
    values = {c: getattr(r, c) for c in _TICKET_COLUMNS}
    values["region_id"] = r.region_id
    return values


def _insert(
    session: Session, fresh: list[TicketRecord], constituent_id: int, now: datetime
) -> dict[str, int]:
    """Insert new work orders; their case ids by ticket_no."""
    if not fresh:
        return {}
    rows = [
        {**_case_values(r), "source": SOURCE, "constituent_id": constituent_id, "updated_at": now}
        for r in fresh
    ]
    ids = session.execute(insert(Case).returning(Case.id, sort_by_parameter_order=True), rows)
    case_ids = [int(i) for i in ids.scalars()]
    session.execute(
        insert(HotlineTicket),
        [
            {
                **_ticket_values(r),
                "case_id": cid,
                "ticket_no": r.ticket_no,
                "imported_at": now,
                "updated_at": now,
            }
            for cid, r in zip(case_ids, fresh, strict=True)
        ],
    )
    session.execute(
        insert(CaseEvent),
        [
            _event(cid, "imported", now, None, r.status, {"ticket_no": r.ticket_no})
            for cid, r in zip(case_ids, fresh, strict=True)
        ],
    )
    return {r.ticket_no: cid for cid, r in zip(case_ids, fresh, strict=True)}


def _update(
    session: Session,
    changed: list[tuple[tuple[tuple[int, int], TicketRecord], TicketRecord]],
    now: datetime,
) -> None:
    if not changed:
        return
    cases = Base.metadata.tables["cases"]
    tickets = Base.metadata.tables["hotline_tickets"]
    case_cols = _case_values(changed[0][1])
    session.execute(
        update(cases)
        .where(cases.c.id == bindparam("b_id"))
        .values(
            {
                **{c: bindparam(f"b_{c}") for c in case_cols},
                "updated_at": now,
                "version": cases.c.version + 1,
            }
        ),
        [
            {"b_id": ids[0], **{f"b_{k}": v for k, v in _case_values(r).items()}}
            for (ids, _old), r in changed
        ],
    )
    ticket_cols = _ticket_values(changed[0][1])
    session.execute(
        update(tickets)
        .where(tickets.c.id == bindparam("b_id"))
        .values({**{c: bindparam(f"b_{c}") for c in ticket_cols}, "updated_at": now}),
        [
            {"b_id": ids[1], **{f"b_{k}": v for k, v in _ticket_values(r).items()}}
            for (ids, _old), r in changed
        ],
    )
    session.execute(
        insert(CaseEvent),
        [
            _event(
                ids[0],
                "import_update",
                now,
                old.status if old.status != r.status else None,
                r.status if old.status != r.status else None,
                {"ticket_no": r.ticket_no, "changed": _diff(old, r)},
            )
            for (ids, old), r in changed
        ],
    )


def _ratings(
    session: Session,
    fresh: list[TicketRecord],
    changed: list[tuple[tuple[tuple[int, int], TicketRecord], TicketRecord]],
    case_of: dict[str, int],
    constituent_id: int,
) -> None:
    """Keep one Rating per rated work order (是否满意), dated at 办结时间, so 满意率 counts it."""
    redo = [
        r
        for (_ids, old), r in changed
        if (old.satisfied, old.closed_at, old.called_at) != (r.satisfied, r.closed_at, r.called_at)
    ]
    if redo:
        session.execute(
            delete(Rating).where(
                Rating.case_id.in_([case_of[r.ticket_no] for r in redo]),
                Rating.answer_seq == RATING_SEQ,
            )
        )
    rows = [
        {
            "case_id": case_of[r.ticket_no],
            "answer_seq": RATING_SEQ,
            "constituent_id": constituent_id,
            "value": r.satisfied,
            "created_at": r.closed_at or r.called_at,
        }
        for r in (*fresh, *redo)
        if r.satisfied
    ]
    if rows:
        session.execute(insert(Rating), rows)


def _diff(old: TicketRecord, new: TicketRecord) -> list[str]:
    before, after = asdict(old), asdict(new)
    return [f for f in FIELDS if before[f] != after[f]]


def _event(
    case_id: int,
    kind: str,
    now: datetime,
    from_status: str | None,
    to_status: str | None,
    payload: dict[str, Any],
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "kind": kind,
        "action": None,
        "from_status": from_status,
        "to_status": to_status,
        "actor_kind": "system",
        "actor_id": None,
        "channel": "cli",
        "at": now,
        "payload": {"source": SOURCE, **payload},
    }
