"""Offline activities registered by text: `登记 走访 12月3日 东湖村 走访选民10户` (+ a photo).

Deputies register; station staff (or office staff above the station) confirm with
`确认登记 12`. `登记` alone lists the deputy's latest registrations and shows the format.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, queries
from handlers.cards import ReplyTarget
from handlers.context import HandlerContext
from handlers.duties import record_texts as rt
from handlers.events import StaffText
from handlers.queries import Person
from storage.models import DutyActivity, Station

_REGISTER = re.compile(r"^\s*登记(?=\s|$|[:：])[\s:：]*(.*)$", re.S)
_CONFIRM = re.compile(r"^\s*(?:确认登记|登记确认)[\s:：#＃]*(\d{1,9})\s*$")
_MD = re.compile(r"^(?:(\d{4})[年\-/.])?(\d{1,2})[月\-/.](\d{1,2})[日号]?$")
_RELATIVE = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}
MAX_KIND = 8


def is_confirm(text: str) -> bool:
    """`确认登记 N` (station staff confirming an activity)."""
    return bool(_CONFIRM.match(text))


def handles(text: str) -> bool:
    """`登记 …` or `确认登记 N`."""
    return bool(_REGISTER.match(text) or _CONFIRM.match(text))


def on_text(
    session: Session, person: Person, ev: StaffText, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """Register, confirm or list activities."""
    if (m := _CONFIRM.match(ev.text)) is not None:
        confirm(session, person, int(m.group(1)), target, ctx)
        return
    m = _REGISTER.match(ev.text)
    assert m is not None
    body = m.group(1).strip()
    if person.kind != "deputy":
        cards.reply(session, target, rt.register_deputies_only())
        return
    if not body:
        cards.reply(session, target, rt.register_help(_latest(session, person.id)))
        return
    parsed = parse(body, ctx.now.astimezone(rt.BEIJING).date())
    if isinstance(parsed, str):
        cards.reply(session, target, parsed)
        return
    kind, day, place, text = parsed
    activity = DutyActivity(
        deputy_id=person.id,
        kind=kind,
        occurred_on=day,
        place=place,
        text=text,
        photo=ev.attachments[0] if ev.attachments else None,
        station_id=min(person.station_ids) if person.station_ids else None,
        status="registered",
        created_at=ctx.now,
    )
    session.add(activity)
    session.flush()
    cards.reply(session, target, rt.registered(activity))


def parse(body: str, today: date) -> tuple[str, date, str, str] | str:
    """(kind, day, place, text) of `走访 12月3日 东湖村 走访选民10户`, or a polite reason."""
    parts = body.split(maxsplit=3)
    if len(parts) < 3:
        return rt.register_format()
    kind, when = parts[0], parts[1]
    if len(kind) > MAX_KIND:
        return rt.register_format()
    day = parse_day(when, today)
    if day is None:
        return rt.register_bad_date(when)
    if day > today:
        return rt.register_future(day)
    place = parts[2]
    text = parts[3].strip() if len(parts) > 3 else ""
    return kind, day, place[:128], text


def parse_day(text: str, today: date) -> date | None:
    """12月3日, 2026-12-03, 12.3, 今天/昨天/前天; a month/day after today is last year's."""
    if text in _RELATIVE:
        return today - timedelta(days=_RELATIVE[text])
    m = _MD.match(text)
    if m is None:
        return None
    year = int(m.group(1)) if m.group(1) else today.year
    try:
        day = date(year, int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    if not m.group(1) and day > today:
        day = day.replace(year=year - 1)
    return day


def confirm(
    session: Session, person: Person, activity_id: int, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """Station staff confirm a registration of a deputy of their station."""
    activity = session.get(DutyActivity, activity_id)
    if activity is None:
        cards.reply(session, target, rt.activity_not_found(activity_id))
        return
    if not person.is_staff or not _may_confirm(session, person, activity):
        cards.reply(session, target, rt.confirm_not_allowed(activity_id))
        return
    if activity.status == "confirmed":
        cards.reply(session, target, rt.already_confirmed(activity_id))
        return
    activity.status = "confirmed"
    activity.confirmed_by_staff_id = person.id
    activity.confirmed_at = ctx.now
    cards.reply(session, target, rt.confirmed(activity))


def _may_confirm(session: Session, person: Person, activity: DutyActivity) -> bool:
    if activity.station_id is None:
        return person.region_id is not None and not person.station_ids
    if person.station_ids:
        return activity.station_id in person.station_ids
    station = session.get(Station, activity.station_id)
    return (
        station is not None
        and person.region_id is not None
        and queries.encloses(session, person.region_id, station.region_id)
    )


def _latest(session: Session, deputy_id: int) -> list[DutyActivity]:
    stmt = (
        select(DutyActivity)
        .where(DutyActivity.deputy_id == deputy_id)
        .order_by(DutyActivity.id.desc())
        .limit(5)
    )
    return list(session.scalars(stmt))
