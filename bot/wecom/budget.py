"""The kf send budget: at most 5 messages within 48 h of the constituent's last message.

Every kf message a sender is about to attempt is first reserved here, in a transaction that
locks the constituent row, so a sixth message is never attempted. Slots are kept for what
matters most; a purpose may send only while the messages already sent in the window, plus
this one, stay within its cap:

    info    3   (leaves two: the deputy's answer and the rating menu)
    ack     4   (the case number; leaves one: the answer, sent with its rating menu)
    answer  5
    rating  5

An answer followed by its rating menu goes out as one msgmenu (see senders.py), so even after
four messages the answer and the rating still fit. A welcome sent with `send_msg_on_event`
does not count (and is dropped, not sent late, once its 20 s code has lapsed). When a
message does not fit (or 48 h have passed) it is held until the constituent writes again,
and station staff are told once per constituent per window. A held row does not hold up the
rows after it (storage.outbox.BLOCKING): the answer still uses the slots kept for it.

Counting is by message, not by clock. WeCom stamps a constituent's message to the whole
second, so comparing that stamp with our send times cannot order a send and a message that
fall in the same second. Instead the window is anchored on the message itself (its kf msgid,
`Constituent.window_msgid`): every send reserved after that message was processed counts,
exactly (`sends_since_inbound`; each sent row records the window and the msgids WeCom
returned). Sends still in flight when the message was processed, or finished within a second
of its stamp, may fall on either side of it in WeCom's order: they are `uncertain_sends`,
which only the low-priority purposes (info, ack) count, to keep the answer's slots safe. The
answer and the rating are judged on the certain count; if WeCom disagrees it answers 95001,
which is believed (`exhausted`) and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.pipeline.registry import SendError
from bot.runtime import Runtime
from handlers import queries
from handlers.notices import ToDingTalkGroup, ToDingTalkUsers, ToWecomMember, queue_notice
from storage.models import Case, Constituent, OutboxItem, Station
from storage.outbox import NEW_OUTBOX_KEY
from storage.timeutil import utcnow

log = logging.getLogger(__name__)

LIMIT = 5
WINDOW = timedelta(hours=48)
CLOCK_MARGIN = timedelta(seconds=60)  # our clock and WeCom's may differ a little
# a send that finished this close to (or after) the message's whole-second stamp may be on
# either side of it in WeCom's order (the stamp truncates; clocks are NTP-close)
SAME_SECOND = timedelta(seconds=1)
CAUTIOUS = frozenset({"info", "ack"})  # purposes that also count the uncertain sends
WINDOW_CLOSED = "window closed"
BUDGET_FULL = "budget full"
CAPS: dict[str, int] = {"info": 3, "ack": 4, "answer": 5, "rating": 5}
KF_CHANNEL = "wecom_kf"


@dataclass(frozen=True)
class Verdict:
    """Whether a send may go ahead; otherwise why it waits and whether staff should know."""

    ok: bool
    reason: str = ""
    closed: bool = False  # the 48-hour window itself is over (not just its 5 messages)
    window: str | None = None  # the msgid of the constituent message the send counts against


def usage(person: Constituent) -> tuple[int, int]:
    """(sends certainly in the current window, sends that may be in it)."""
    return person.sends_since_inbound or 0, person.uncertain_sends or 0


def judge(person: Constituent, purpose: str, units: int, now: datetime) -> Verdict:
    """Whether `units` more messages of `purpose` fit the constituent's current window."""
    last = person.last_inbound_at
    if last is None or now > last + WINDOW - CLOCK_MARGIN:
        why = f"{WINDOW_CLOSED}: no message from the constituent within 48 h"
        return Verdict(False, why, closed=True)
    used, maybe = usage(person)
    counted = used + (maybe if purpose in CAUTIOUS else 0)
    cap = CAPS.get(purpose, CAPS["info"])
    if counted + units > cap:
        why = (
            f"{BUDGET_FULL}: {used} of {LIMIT} kf messages used in this window"
            + (f" (+{maybe} maybe)" if maybe else "")
            + f"; {purpose} may use {cap}"
        )
        return Verdict(False, why)
    return Verdict(True, window=person.window_msgid)


def _lock_person(session: Session, constituent_id: int) -> Constituent | None:
    stmt = select(Constituent).where(Constituent.id == constituent_id).with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def reserve(rt: Runtime, item: OutboxItem, units: int, purpose: str) -> Verdict:
    """Reserve `units` messages for `item`, or say why it must wait (and tell staff once)."""
    cid = int(item.payload["constituent_id"])
    with rt.sessions() as session, session.begin():
        person = _lock_person(session, cid)
        if person is None:
            raise SendError(f"constituent {cid} is gone", code="gone", retryable=False)
        verdict = judge(person, purpose, units, utcnow())
        if verdict.ok:
            person.sends_since_inbound = (person.sends_since_inbound or 0) + units
        else:
            tell_staff_once(session, person, item.case_id, verdict)
        new_ids = list(session.info.pop(NEW_OUTBOX_KEY, []))
    _enqueue(rt, new_ids)
    return verdict


def release(rt: Runtime, constituent_id: int, units: int) -> None:
    """Give back reserved slots of a message WeCom definitely refused."""
    if units <= 0:
        return
    with rt.sessions() as session, session.begin():
        person = _lock_person(session, constituent_id)
        if person is not None:
            person.sends_since_inbound = max((person.sends_since_inbound or 0) - units, 0)


def exhausted(rt: Runtime, item: OutboxItem, verdict: Verdict) -> None:
    """WeCom says the window is used up (95001) or closed (95002): believe it, tell staff."""
    cid = int(item.payload["constituent_id"])
    with rt.sessions() as session, session.begin():
        person = _lock_person(session, cid)
        if person is None:
            return
        person.sends_since_inbound = LIMIT  # WeCom's count is the truth
        tell_staff_once(session, person, item.case_id, verdict)
        new_ids = list(session.info.pop(NEW_OUTBOX_KEY, []))
    _enqueue(rt, new_ids)


def units_of(payload: dict[str, Any]) -> int:
    """How many kf messages an outbox payload becomes (text and image are two)."""
    has_text = bool(payload.get("text") or payload.get("menu"))
    return 2 if payload.get("image_path") and has_text else 1


def spent_units(item: OutboxItem) -> int:
    """Budget a sent (or in-flight) row used."""
    if item.status == "sending":
        return units_of(item.payload)
    result = item.result or {}
    return int(result.get("spent_budget", 0) or 0)


def on_inbound(
    session: Session,
    person: Constituent,
    sent_at: datetime,
    previous: datetime | None,
    msgid: str | None = None,
    menu_id: str | None = None,
) -> list[int]:
    """The constituent wrote (kf `msgid`, stamped `sent_at`): a new window; release held rows.

    `previous` is the window start before this message: a message processed late (stamped
    before it) does not open a new window. Our sends reserved from now on count exactly, as do
    those finished well after the stamp; the ones in flight or finished within a second of it
    are uncertain (see the module doc) — unless the message is a tap on a menu we sent
    (`menu_id`): everything we sent up to that menu came before it.
    """
    # A row sent before the message's stamp (less a second) counts in no window it opens, so
    # the sent history is read back only as far as one window: this stays flat as a
    # constituent's history grows. Held and in-flight rows are read whatever their age.
    sent_since = sent_at - WINDOW
    rows = session.scalars(
        select(OutboxItem).where(
            OutboxItem.ordering_key == f"constituent:{person.id}",
            OutboxItem.channel == KF_CHANNEL,
            or_(
                OutboxItem.status.in_(("sending", "held")),
                (OutboxItem.status == "sent") & (OutboxItem.sent_at >= sent_since),
            ),
        )
    ).all()
    released: list[int] = []
    for row in rows:
        if row.status == "held":
            row.status, row.next_attempt_at, row.last_error = "pending", utcnow(), None
            released.append(row.id)
    if previous is None or sent_at >= previous:
        person.last_inbound_at = sent_at
        person.window_msgid = msgid
        seen_until = _menu_sent_at(rows, menu_id)
        counts = [
            (0, 0)
            if seen_until is not None and row.sent_at is not None and row.sent_at <= seen_until
            else _order(row, sent_at)
            for row in rows
        ]
        person.sends_since_inbound = min(sum(c for c, _ in counts), LIMIT)
        person.uncertain_sends = min(sum(m for _, m in counts), LIMIT)
    session.info.setdefault(NEW_OUTBOX_KEY, []).extend(released)
    if released:
        log.info("constituent %s wrote again: %s held message(s) released", person.id, released)
    return released


def _menu_sent_at(rows: Sequence[OutboxItem], menu_id: str | None) -> datetime | None:
    """When the message carrying the tapped menu item went out (a merged rating menu went
    out with its answer), or None."""
    if not menu_id:
        return None
    by_id = {row.id: row for row in rows}
    for row in rows:
        if row.status != "sent" or not any(
            item.get("id") == menu_id for item in row.payload.get("menu") or []
        ):
            continue
        merged = (row.result or {}).get("merged_into")
        carrier = by_id.get(int(merged)) if merged else row
        return carrier.sent_at if carrier is not None else None
    return None


def _order(row: OutboxItem, stamp: datetime) -> tuple[int, int]:
    """(units certainly after, units maybe after) a message stamped `stamp`, for one row.

    Only a send that finished well past the stamp's second (WeCom had the message before we
    processed it) is certainly after it; one in flight or near the stamp could be either.
    """
    if row.status == "sending":
        return 0, spent_units(row)
    if row.status != "sent" or row.sent_at is None or row.sent_at < stamp - SAME_SECOND:
        return 0, 0
    if row.sent_at > stamp + 2 * SAME_SECOND:
        return spent_units(row), 0
    return 0, spent_units(row)


# ---------------------------------------------------------------- telling staff


def tell_staff_once(
    session: Session, person: Constituent, case_id: int | None, verdict: Verdict
) -> OutboxItem | None:
    """Tell the station's staff that messages to this constituent wait (once per window)."""
    window = person.last_inbound_at.isoformat() if person.last_inbound_at else "none"
    dedupe = f"wecom_budget:{person.id}:{window}"[:160]
    if session.scalar(select(OutboxItem.id).where(OutboxItem.dedupe_key == dedupe)) is not None:
        return None
    case = session.get(Case, case_id) if case_id else None
    station_id = (case.station_id if case else None) or person.station_id
    station = session.get(Station, station_id) if station_id else None
    text = held_notice_text(case_id, closed=verdict.closed)
    notice = _staff_notice(session, station, case, text)
    if notice is None:
        log.warning("kf messages to constituent %s held (%s); no staff", person.id, verdict.reason)
        return None
    row = queue_notice(session, notice, case_id=case_id)
    row.dedupe_key = dedupe
    session.flush()
    log.info("kf messages to constituent %s held (%s); staff told", person.id, verdict.reason)
    return row


def _staff_notice(
    session: Session, station: Station | None, case: Case | None, text: str
) -> ToDingTalkGroup | ToDingTalkUsers | ToWecomMember | None:
    staff = queries.station_staff(session, station.id) if station else []
    if not staff:
        region_id = station.region_id if station else (case.region_id if case else None)
        staff = queries.office_staff(session, region_id)
    ding = tuple(dict.fromkeys(s.dingtalk_user_id for s in staff if s.dingtalk_user_id))
    if station is not None and station.dingtalk_group_id:
        return ToDingTalkGroup(station.dingtalk_group_id, text, at_user_ids=ding)
    if ding:
        return ToDingTalkUsers(ding[:20], text)
    wecom = tuple(s.wecom_user_id for s in staff if s.wecom_user_id)
    return ToWecomMember(wecom, text) if wecom else None


def held_notice_text(case_id: int | None, *, closed: bool) -> str:
    """The staff notice (polite Chinese) for messages held by the kf rules."""
    subject = f"诉求 #{case_id} 的群众" if case_id else "一位群众"
    if closed:
        why = "已超过 48 小时未在微信客服留言，平台不允许再主动发送消息"
    else:
        why = "在本轮 48 小时内可接收的 5 条客服消息已基本用完"
    return (
        f"【消息暂缓提醒】{subject}{why}。后续消息（如代表答复、评价邀请）已暂存，"
        "待群众再次留言后将自动补发。如需及时告知，请通过电话等方式联系群众。"
    )


def _enqueue(rt: Runtime, outbox_ids: list[int]) -> None:
    if not outbox_ids:
        return
    from bot.pipeline.outbox_jobs import enqueue_send

    for outbox_id in outbox_ids:
        enqueue_send(rt, outbox_id)
