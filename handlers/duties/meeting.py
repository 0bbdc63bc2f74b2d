"""Meetings and activities: the notice, 报名 / 请假 (with reason), the day-before reminder,
签到 inside the meeting's window (the venue's QR code, or a 签到 button when staff allow it),
and the attendance list.

签到 by QR: the code at the venue carries `#签到<id> <token>`; the token is only in that code,
so a deputy who was not there cannot check in by typing the meeting number.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards
from handlers.cards import ReplyTarget
from handlers.context import HandlerContext
from handlers.duties import meeting_texts as mt
from handlers.duties import reading
from handlers.duties.solicit import REMIND_AT, queue_batches, resolve_audience
from handlers.duties.spec import SpecError, parse_audience, parse_documents, parse_time
from handlers.queries import Person
from handlers.texts import fmt_when
from storage.models import Deputy, Document, Meeting, MeetingAttendee, Station

CHECKIN_OPENS = timedelta(minutes=30)  # 签到 opens this long before the start
HEADER = re.compile(r"^\s*#?\s*(会议|活动|签到)\s*(\d{1,9})(?=\s|$|[:：])[\s:：]*(.*)$", re.S)


@dataclass(frozen=True)
class MeetingSpec:
    """A checked meeting notice."""

    title: str
    place: str
    agenda: str
    starts_at: datetime
    ends_at: datetime
    audience: dict[str, Any]
    documents: tuple[dict[str, str], ...]
    button_checkin: bool


def parse_meeting(raw: Any, tz: ZoneInfo) -> MeetingSpec:
    """Check a meeting YAML mapping; SpecError lists every problem."""
    if not isinstance(raw, dict):
        raise SpecError("the file must be a mapping with title, starts, ends, place, audience")
    problems: list[str] = []
    title = str(raw.get("title") or "").strip()
    if not title:
        problems.append("title: missing")
    starts = parse_time(raw.get("starts"), tz, [])
    ends = parse_time(raw.get("ends"), tz, [])
    if starts is None or ends is None or ends <= starts:
        problems.append("starts/ends: give two times like 2026-12-10 09:00, ends after starts")
    audience = parse_audience(raw.get("audience"), problems)
    documents = parse_documents(raw.get("documents"), problems)
    if problems:
        raise SpecError("; ".join(problems))
    assert starts is not None and ends is not None and audience is not None
    return MeetingSpec(
        title=title,
        place=str(raw.get("place") or "").strip(),
        agenda=str(raw.get("agenda") or "").strip(),
        starts_at=starts,
        ends_at=ends,
        audience=audience.as_json(),
        documents=documents,
        button_checkin=bool(raw.get("button_checkin", False)),
    )


def create(session: Session, ctx: HandlerContext, spec: MeetingSpec, by: str = "cli") -> Meeting:
    """Record the meeting, its attendees and documents; queue the notice in batches of 20."""
    from handlers.duties.spec import Audience

    if spec.starts_at <= ctx.now:
        raise ValueError("the meeting has already started")
    a = spec.audience
    people = resolve_audience(
        session,
        Audience(a.get("region"), tuple(a.get("stations", ())), tuple(a.get("deputies", ()))),
    )
    if not people:
        raise LookupError("the audience has no active deputies")
    m = Meeting(
        title=spec.title, place=spec.place, agenda=spec.agenda, starts_at=spec.starts_at,
        ends_at=spec.ends_at, audience=spec.audience, checkin_token=secrets.token_hex(8),
        button_checkin=spec.button_checkin, reminded=False, created_by=by, created_at=ctx.now,
    )  # fmt: skip
    session.add(m)
    session.flush()
    session.add_all(
        MeetingAttendee(meeting_id=m.id, deputy_id=d.id, station_id=sid, status="invited")
        for d, sid in people
    )
    docs = [
        reading.add_document(session, ctx, d["title"], d["url"], "", [p for p, _ in people], m.id)
        for d in spec.documents
    ]
    title, text = mt.meeting_card(m, docs)
    queue_batches(session, [d.dingtalk_user_id for d, _ in people], title, text, f"meeting:{m.id}")
    return m


def on_text(
    session: Session, person: Person, text: str, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """`#会议12 报名`, `#会议12 请假 理由`, `#会议12 签到`, `#签到12 <token>`."""
    m_ = HEADER.match(text)
    assert m_ is not None
    word, number, rest = m_.group(1), int(m_.group(2)), m_.group(3).strip()
    meeting = session.get(Meeting, number)
    if meeting is None:
        cards.reply(session, target, mt.meeting_not_found(number))
        return
    row = _attendee(session, meeting, person)
    if row is None:
        cards.reply(session, target, mt.not_invited(meeting))
        return
    if word == "签到":
        _check_in(session, meeting, row, rest, "qr", target, ctx)
    elif rest.startswith("签到"):
        _check_in(session, meeting, row, "", "button", target, ctx)
    elif rest.startswith(("报名", "参加")):
        _reply(session, meeting, row, "registered", None, target, ctx)
    elif rest.startswith("请假"):
        reason = rest[2:].strip(" :：,，")
        if not reason:
            cards.reply(session, target, mt.excuse_needs_reason(meeting))
            return
        _reply(session, meeting, row, "excused", reason[:500], target, ctx)
    else:
        cards.reply(session, target, mt.meeting_unknown_reply(meeting))


def _attendee(session: Session, m: Meeting, person: Person) -> MeetingAttendee | None:
    if person.kind != "deputy":
        return None
    stmt = (
        select(MeetingAttendee)
        .where(MeetingAttendee.meeting_id == m.id, MeetingAttendee.deputy_id == person.id)
        .with_for_update()
    )
    return session.scalars(stmt).first()


def _reply(
    session: Session,
    m: Meeting,
    row: MeetingAttendee,
    status: str,
    reason: str | None,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    if ctx.now >= m.starts_at:
        cards.reply(session, target, mt.meeting_started(m))
        return
    row.status, row.reason, row.replied_at = status, reason, ctx.now
    text = mt.registered(m) if status == "registered" else mt.excused(m, reason or "")
    cards.reply(session, target, text)


def _check_in(
    session: Session,
    m: Meeting,
    row: MeetingAttendee,
    token: str,
    via: str,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    cards.reply(session, target, check_in(m, row, token, via, ctx))


def check_in(m: Meeting, row: MeetingAttendee, token: str, via: str, ctx: HandlerContext) -> str:
    """Record 签到 inside the window (qr/h5 need the venue's token); the polite answer."""
    if via in ("qr", "h5") and not secrets.compare_digest(token.encode(), m.checkin_token.encode()):
        return mt.checkin_needs_qr(m)
    if via == "button" and not m.button_checkin:
        return mt.checkin_needs_qr(m)
    if not m.starts_at - CHECKIN_OPENS <= ctx.now <= m.ends_at:
        return mt.checkin_outside_window(m, fmt_when(m.starts_at - CHECKIN_OPENS))
    if row.checked_in_at is not None:
        return mt.already_checked_in(m)
    row.checked_in_at, row.checkin_via = ctx.now, via
    return mt.checked_in(m, fmt_when(ctx.now))


def meeting_by_token(session: Session, token: str) -> Meeting | None:
    """The meeting whose venue QR code carries `token` (the H5 check-in page's address)."""
    if not token or len(token) > 32:
        return None
    m = session.scalars(select(Meeting).where(Meeting.checkin_token == token)).first()
    # compare again in constant time: the lookup above is only an index
    if m is None or not secrets.compare_digest(token.encode(), m.checkin_token.encode()):
        return None
    return m


def check_in_on_page(
    session: Session, m: Meeting, person: Person, token: str, ctx: HandlerContext
) -> str:
    """签到 from the H5 page the venue's QR code opens (same rules as the text command)."""
    row = _attendee(session, m, person)
    if row is None:
        return mt.not_invited(m)
    return check_in(m, row, token, "h5", ctx)


def attendee_status(session: Session, m: Meeting, person: Person) -> MeetingAttendee | None:
    """The person's attendance row of the meeting (not locked), None if not invited."""
    if person.kind != "deputy":
        return None
    stmt = select(MeetingAttendee).where(
        MeetingAttendee.meeting_id == m.id, MeetingAttendee.deputy_id == person.id
    )
    return session.scalars(stmt).first()


def checkin_text(m: Meeting) -> str:
    """What the dtmd form of the venue's QR code sends as the scanning deputy."""
    return f"#签到{m.id} {m.checkin_token}"


def checkin_path(m: Meeting) -> str:
    """The H5 check-in page the venue's QR code opens (under [web] public_url)."""
    return f"/workbench/checkin/{m.checkin_token}"


def remind_due(session: Session, ctx: HandlerContext) -> int:
    """From 09:00 the day before (Beijing), remind everyone invited who has not 请假."""
    fired = 0
    stmt = select(Meeting).where(Meeting.reminded.is_(False), Meeting.starts_at > ctx.now)
    for m in session.scalars(stmt.with_for_update()):
        eve = m.starts_at.astimezone(mt_zone()).date() - timedelta(days=1)
        if ctx.now < datetime.combine(eve, REMIND_AT, tzinfo=mt_zone()):
            continue
        users = list(
            session.scalars(
                select(Deputy.dingtalk_user_id)
                .join(MeetingAttendee, MeetingAttendee.deputy_id == Deputy.id)
                .where(MeetingAttendee.meeting_id == m.id, MeetingAttendee.status != "excused")
                .order_by(Deputy.id)
            )
        )
        queue_batches(session, users, None, mt.meeting_reminder(m), f"meeting:{m.id}:remind")
        m.reminded = True
        fired += 1
    return fired


def mt_zone() -> ZoneInfo:
    """Beijing: meetings are remembered by their local date."""
    from handlers.texts import BEIJING

    return BEIJING


@dataclass(frozen=True)
class AttendanceRow:
    """One line of the attendance list."""

    deputy_code: str
    deputy_name: str
    station: str
    status: str  # invited | registered | excused
    reason: str
    checked_in_at: datetime | None
    via: str


def attendance(session: Session, meeting_id: int) -> tuple[Meeting, list[AttendanceRow]]:
    """The meeting and its attendance list; LookupError if there is none."""
    m = session.get(Meeting, meeting_id)
    if m is None:
        raise LookupError(f"no meeting {meeting_id}")
    rows = session.execute(
        select(MeetingAttendee, Deputy, Station)
        .join(Deputy, Deputy.id == MeetingAttendee.deputy_id)
        .outerjoin(Station, Station.id == MeetingAttendee.station_id)
        .where(MeetingAttendee.meeting_id == m.id)
        .order_by(Deputy.code)
    ).all()
    return m, [
        AttendanceRow(
            d.code,
            d.name,
            s.name if s else "",
            a.status,
            a.reason or "",
            a.checked_in_at,
            a.checkin_via or "",
        )  # fmt: skip
        for a, d, s in rows
    ]


def documents_of(session: Session, meeting_id: int) -> list[Document]:
    """The documents attached to a meeting."""
    stmt = select(Document).where(Document.meeting_id == meeting_id).order_by(Document.id)
    return list(session.scalars(stmt))
