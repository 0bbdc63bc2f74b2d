"""Notices from staff to deputies (meeting notices, 意见征集), with per-deputy delivery status.

Entry points: the staff text command `通知 <区域或联络站> <内容>` (through `actions`), and
`notify_region` / `notify_station` for the `lianxin notify` command. A deputy confirms the latest
notice with 「确认」/「已阅」 (or a card button carrying its id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, queries, texts
from handlers.cards import ReplyTarget
from handlers.commands import Command
from handlers.context import HandlerContext
from handlers.queries import Person
from storage.models import Deputy, DeputyStation, Notice, NoticeDelivery, Region, Station


@dataclass(frozen=True)
class NoticeResult:
    """A notice that went out, and to how many deputies."""

    notice_id: int
    target: str
    deputies: int


@dataclass(frozen=True)
class DeliveryRow:
    """One deputy's delivery and confirmation of a notice."""

    deputy_id: int
    deputy_name: str
    status: str  # sent | confirmed
    sent_at: datetime | None
    confirmed_at: datetime | None


def audience(
    session: Session, *, region: Region | None = None, station: Station | None = None
) -> list[Deputy]:
    """Active deputies of a station, or of every station in a region and the regions below it."""
    if station is not None:
        station_ids = [station.id]
    elif region is not None:
        regions = queries.region_subtree_ids(session, region.id)
        station_ids = list(
            session.scalars(select(Station.id).where(Station.region_id.in_(regions)))
        )
    else:
        return []
    stmt = (
        select(Deputy)
        .join(DeputyStation, DeputyStation.deputy_id == Deputy.id)
        .where(DeputyStation.station_id.in_(station_ids), Deputy.active.is_(True))
        .order_by(Deputy.id)
        .distinct()
    )
    return list(session.scalars(stmt))


def send_notice(
    session: Session,
    ctx: HandlerContext,
    *,
    text: str,
    region_code: str | None = None,
    station_code: str | None = None,
    created_by: str | None = "cli",
    sender: str | None = None,
) -> NoticeResult:
    """`lianxin notify --region CODE | --station CODE --text …`; LookupError if unknown."""
    if station_code:
        station = queries.find_station(session, station_code)
        if station is None:
            raise LookupError(f"no station {station_code!r}")
        signature = sender or station.name
        return deliver(
            session, ctx, text=text, sender=signature, created_by=created_by, station=station
        )
    if region_code:
        region = queries.find_region(session, region_code)
        if region is None:
            raise LookupError(f"no region {region_code!r}")
        signature = sender or texts.office_sender(region.name, region.level)
        return deliver(
            session, ctx, text=text, sender=signature, created_by=created_by, region=region
        )
    raise LookupError("a notice needs a region or a station")


def notify_region(
    session: Session, ctx: HandlerContext, *, region_code: str, text: str, created_by: str = "cli"
) -> NoticeResult:
    """Notify every deputy of a region (and the regions below it)."""
    return send_notice(session, ctx, text=text, region_code=region_code, created_by=created_by)


def notify_station(
    session: Session, ctx: HandlerContext, *, station_code: str, text: str, created_by: str = "cli"
) -> NoticeResult:
    """Notify every deputy of a station."""
    return send_notice(session, ctx, text=text, station_code=station_code, created_by=created_by)


def deliver(
    session: Session,
    ctx: HandlerContext,
    *,
    text: str,
    sender: str,
    created_by: str | None = None,
    region: Region | None = None,
    station: Station | None = None,
) -> NoticeResult:
    """Record a notice and queue it to every deputy in scope, one delivery row per deputy."""
    notice = Notice(
        text=text,
        region_id=region.id if region else (station.region_id if station else None),
        station_id=station.id if station else None,
        created_by=created_by,
        created_at=ctx.now,
    )
    session.add(notice)
    session.flush()
    deputies = audience(session, region=region, station=station)
    for deputy in deputies:
        session.add(
            NoticeDelivery(notice_id=notice.id, deputy_id=deputy.id, status="sent", sent_at=ctx.now)
        )
    cards.tell(
        session, cards.deputy_people(session, deputies), texts.notice_to_deputies(sender, text)
    )
    target = station.name if station else (region.name if region else "")
    return NoticeResult(notice.id, target, len(deputies))


def on_command(
    session: Session, person: Person, cmd: Command, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """`通知 <区域或联络站> <内容>` from staff."""
    if not person.is_staff:
        cards.reply(session, target, texts.staff_only("notify"))
        return
    station = queries.find_station(session, cmd.target)
    region = None if station is not None else queries.find_region(session, cmd.target)
    if station is None and region is None:
        cards.reply(session, target, texts.notice_target_not_found(cmd.target))
        return
    if not _in_scope(session, person, region=region, station=station):
        cards.reply(session, target, texts.notice_not_allowed(cmd.target))
        return
    result = deliver(
        session,
        ctx,
        text=cmd.body,
        sender=person.title,
        created_by=f"staff:{person.id}",
        region=region,
        station=station,
    )
    cards.reply(session, target, texts.notice_sent(result.target, result.deputies))


def _in_scope(
    session: Session, person: Person, *, region: Region | None, station: Station | None
) -> bool:
    """Station staff may notify their station; office staff anything in their region."""
    if person.station_ids:
        return station is not None and station.id in person.station_ids
    if person.region_id is None:
        return False
    inner = station.region_id if station is not None else (region.id if region else None)
    return inner is not None and queries.encloses(session, person.region_id, inner)


def confirm(
    session: Session,
    person: Person,
    target: ReplyTarget,
    ctx: HandlerContext,
    notice_id: int | None = None,
) -> None:
    """A deputy confirms a notice: the given one, else the latest unconfirmed one."""
    stmt = select(NoticeDelivery).where(
        NoticeDelivery.deputy_id == person.id, NoticeDelivery.status == "sent"
    )
    if notice_id is not None:
        stmt = stmt.where(NoticeDelivery.notice_id == notice_id)
    delivery = (
        session.scalars(stmt.order_by(NoticeDelivery.notice_id.desc())).first()
        if person.kind == "deputy"
        else None
    )
    if delivery is None:
        cards.reply(session, target, texts.no_notice_to_confirm())
        return
    delivery.status = "confirmed"
    delivery.confirmed_at = ctx.now
    cards.reply(session, target, texts.notice_confirmed())


def delivery_status(session: Session, notice_id: int) -> list[DeliveryRow]:
    """Per-deputy delivery and confirmation of a notice."""
    stmt = (
        select(NoticeDelivery, Deputy)
        .join(Deputy, Deputy.id == NoticeDelivery.deputy_id)
        .where(NoticeDelivery.notice_id == notice_id)
        .order_by(Deputy.id)
    )
    return [
        DeliveryRow(d.id, d.name, nd.status, nd.sent_at, nd.confirmed_at)
        for nd, d in session.execute(stmt).all()
    ]
