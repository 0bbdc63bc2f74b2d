"""A case's full record for the workbench: the conversation both ways, the log, dues, 附议."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import queries, texts
from handlers.caselog import events_of
from handlers.workbench.scope import Viewer, handles
from storage.models import Case, CaseEvent, Department, Deputy, Message, OutboxItem, Rating, Station

Masker = Callable[[str], str]


@dataclass(frozen=True)
class Line:
    """One message of the conversation, inbound or outbound, in time order."""

    at: datetime
    direction: str  # in | out
    kind: str  # text | image | voice | location | menu | ...
    text: str
    media_id: int | None = None  # Message.id whose file the page may fetch
    lat: float | None = None
    lng: float | None = None
    delivery: str | None = None  # outbound: pending | sent | held | failed (+ error)


@dataclass(frozen=True)
class CaseRecord:
    """Everything the 诉求详情 page shows."""

    case: Case
    unmasked: bool
    station: str | None
    handler: str | None
    department: str | None
    lines: list[Line]
    events: list[CaseEvent]
    co_signers: list[Case]
    main_case_id: int | None
    ratings: list[Rating]
    dues: list[tuple[str, datetime]]


def _delivery(item: OutboxItem) -> str:
    if item.status == "failed" and item.last_error:
        return f"failed {item.last_error}"
    if item.status == "held" and item.last_error:
        return f"held {item.last_error}"
    return item.status


def _conversation(session: Session, case: Case, show: Masker) -> list[Line]:
    lines: list[Line] = []
    inbound = session.scalars(
        select(Message).where(Message.case_id == case.id, Message.direction == "in")
    )
    for m in inbound:
        if m.kind in ("command", "card", "event", "failed"):
            continue
        lines.append(
            Line(
                at=m.created_at,
                direction="in",
                kind=m.kind,
                text=show(m.text or ""),
                media_id=m.id if m.media_path else None,
                lat=m.lat,
                lng=m.lng,
            )
        )
    outbound = session.scalars(
        select(OutboxItem).where(OutboxItem.case_id == case.id, OutboxItem.kind == "to_constituent")
    )
    for o in outbound:
        text = str(o.payload.get("text") or "")
        lines.append(
            Line(at=o.created_at, direction="out", kind="text", text=text, delivery=_delivery(o))
        )
    return sorted(lines, key=lambda line: line.at)


def case_record(session: Session, viewer: Viewer, case: Case, mask: Masker) -> CaseRecord:
    """The record of `case` as `viewer` may see it (masked unless they handle the case)."""
    unmasked = handles(viewer, case)
    show: Masker = (lambda s: s) if unmasked else mask
    station = session.get(Station, case.station_id) if case.station_id else None
    dept = session.get(Department, case.department_id) if case.department_id else None
    handler = queries.assignee_of(session, case)
    co_signers = list(
        session.scalars(select(Case).where(Case.merged_into_id == case.id).order_by(Case.id))
    )
    ratings = list(
        session.scalars(select(Rating).where(Rating.case_id == case.id).order_by(Rating.id))
    )
    dues = [
        (texts.SLA_LABELS[key], due)
        for key, due in (
            ("claim", case.claim_due_at),
            ("answer", case.answer_due_at),
            ("close", case.close_due_at),
        )
        if due is not None
    ]
    return CaseRecord(
        case=case,
        unmasked=unmasked,
        station=station.name if station else None,
        handler=handler.title if handler else None,
        department=dept.name if dept else None,
        lines=_conversation(session, case, show),
        events=events_of(session, case.id),
        co_signers=co_signers,
        main_case_id=case.merged_into_id,
        ratings=ratings,
        dues=dues,
    )


def deputy_options(session: Session, case: Case) -> list[Deputy]:
    """Deputies a case can be reassigned to: those of its station first, then the rest."""
    deputies = list(
        session.scalars(select(Deputy).where(Deputy.active.is_(True)).order_by(Deputy.code))
    )
    if case.station_id is None:
        return deputies
    from storage.models import DeputyStation

    at_station = set(
        session.scalars(
            select(DeputyStation.deputy_id).where(DeputyStation.station_id == case.station_id)
        )
    )
    return sorted(deputies, key=lambda d: (d.id not in at_station, d.code))
