"""A small seeded directory and a driver that feeds neutral events to `handlers.dispatch.handle`.

Rows are written directly with SQLAlchemy (no dependency on storage/directory.py). Each call to
`World.send` runs `handle` in its own transaction, like the inbox job, and returns the outbox
rows it queued — i.e. what each person would be sent.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from handlers.caselog import events_of
from handlers.context import HandlerContext
from handlers.dispatch import handle
from handlers.events import (
    CardAction,
    ConstituentEntered,
    ConstituentMessage,
    InboundEvent,
    StaffText,
)
from storage.models import (
    Case,
    CaseEvent,
    Department,
    Deputy,
    DeputyStation,
    Leave,
    OutboxItem,
    Region,
    RosterSlot,
    SceneCode,
    Staff,
    Station,
)

BJ = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-16 10:00 Beijing: an ordinary working morning.
MONDAY_10 = datetime(2026, 11, 16, 10, 0, tzinfo=BJ).astimezone(UTC)
_ids = itertools.count(1)


def bj(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return datetime(y, m, d, hh, mm, tzinfo=BJ).astimezone(UTC)


@dataclass
class Sent:
    """One queued outbox row, flattened for assertions."""

    id: int
    channel: str
    kind: str
    purpose: str
    case_id: int | None
    payload: dict[str, Any]

    @property
    def text(self) -> str:
        """The message text ('' for card notices)."""
        return str(self.payload.get("text", ""))


def seed(session: Session) -> dict[str, int]:
    """City → county → township; two county stations and a township one; deputies, staff, a dept."""
    city = Region(code="C", name="连云市", level="city")
    session.add(city)
    session.flush()
    county = Region(
        code="K", name="海州区", level="county", parent_id=city.id, office_group_id="cid-office"
    )
    session.add(county)
    session.flush()
    town = Region(
        code="T", name="新坝镇", level="township", parent_id=county.id, sla_claim_days=0.5
    )
    session.add(town)
    session.flush()
    s1 = Station(
        code="S1",
        name="城南联络站",
        region_id=county.id,
        lat=34.60,
        lng=119.20,
        dingtalk_group_id="cid-s1",
    )
    s2 = Station(
        code="S2",
        name="城北联络站",
        region_id=county.id,
        lat=34.70,
        lng=119.20,
        dingtalk_group_id="cid-s2",
    )
    s3 = Station(code="S3", name="新坝联络站", region_id=town.id, lat=34.30, lng=119.00)
    session.add_all([s1, s2, s3])
    session.flush()
    people = {
        "zhang": Deputy(code="D1", name="张伟", dingtalk_user_id="u-zhang"),
        "li": Deputy(code="D2", name="李娜", dingtalk_user_id="u-li"),
        "zhao": Deputy(code="D3", name="赵敏", dingtalk_user_id="u-zhao"),
        "wang": Deputy(code="D4", name="王强", dingtalk_user_id="u-wang"),
        "sun": Deputy(code="D5", name="孙丽", dingtalk_user_id="u-sun"),
    }
    session.add_all(people.values())
    session.flush()
    for key in ("zhang", "li", "zhao"):
        session.add(DeputyStation(deputy_id=people[key].id, station_id=s1.id))
    session.add(DeputyStation(deputy_id=people["wang"].id, station_id=s2.id))
    session.add(DeputyStation(deputy_id=people["sun"].id, station_id=s3.id))
    # S1: Monday 张伟 + 李娜 (tie-break), Tuesday 张伟, Wednesday 李娜; S2: every weekday 王强.
    session.add_all(
        [
            RosterSlot(station_id=s1.id, deputy_id=people["zhang"].id, weekday=0),
            RosterSlot(station_id=s1.id, deputy_id=people["li"].id, weekday=0),
            RosterSlot(station_id=s1.id, deputy_id=people["zhang"].id, weekday=1),
            RosterSlot(station_id=s1.id, deputy_id=people["li"].id, weekday=2),
            *(
                RosterSlot(station_id=s2.id, deputy_id=people["wang"].id, weekday=d)
                for d in range(5)
            ),
        ]
    )
    staff = {
        "chen": Staff(
            code="ST1",
            name="陈静",
            dingtalk_user_id="u-chen",
            region_id=county.id,
            station_id=s1.id,
        ),
        "liu": Staff(code="ST2", name="刘洋", dingtalk_user_id="u-liu", region_id=county.id),
        "zhou": Staff(
            code="ST3",
            name="周涛",
            dingtalk_user_id="u-zhou",
            region_id=county.id,
            station_id=s2.id,
        ),
        "town": Staff(
            code="ST4", name="吴芳", dingtalk_user_id="u-wu", region_id=town.id, station_id=s3.id
        ),
    }
    session.add_all(staff.values())
    dept = Department(
        code="ZJJ",
        name="海州区住建局",
        region_id=county.id,
        dingtalk_group_id="cid-zjj",
        aliases="住建局,住建",
    )
    session.add(dept)
    session.add_all(
        [
            SceneCode(scene="s1", station_id=s1.id),
            SceneCode(scene="s2", station_id=s2.id),
            SceneCode(scene="p88", station_id=s1.id, plate="幸福小区3栋"),
        ]
    )
    session.flush()
    ids = {
        "city": city.id,
        "county": county.id,
        "town": town.id,
        "s1": s1.id,
        "s2": s2.id,
        "s3": s3.id,
        "dept": dept.id,
    }
    ids.update({k: v.id for k, v in people.items()})
    ids.update({f"staff_{k}": v.id for k, v in staff.items()})
    return ids


@dataclass
class World:
    """The seeded directory, a service clock, and helpers that send events as real people would."""

    sessions: sessionmaker[Session]
    ids: dict[str, int]
    now: datetime = MONDAY_10
    last_outbox: int = 0
    ctx_overrides: dict[str, Any] = field(default_factory=dict)

    def ctx(self) -> HandlerContext:
        """The handler context at the world's clock."""
        return HandlerContext(now=self.now, **self.ctx_overrides)

    def tick(self, **delta: float) -> None:
        """Advance the clock."""
        self.now += timedelta(**delta)

    def send(self, event: InboundEvent) -> list[Sent]:
        """Run `handle` in one transaction; the outbox rows it queued."""
        with self.sessions() as session, session.begin():
            handle(session, event, self.ctx())
        return self.new_outbox()

    def run(self, fn: Any) -> Any:
        """Run a periodic entry point (run_due, expire_unrated) in its own transaction."""
        with self.sessions() as session, session.begin():
            return fn(session, self.ctx())

    def new_outbox(self) -> list[Sent]:
        """Outbox rows added since the last look."""
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboxItem).where(OutboxItem.id > self.last_outbox).order_by(OutboxItem.id)
            ).all()
            out = [
                Sent(r.id, r.channel, r.kind, r.purpose, r.case_id, dict(r.payload)) for r in rows
            ]
        if out:
            self.last_outbox = out[-1].id
        return out

    # ------------------------------------------------------------ people

    def say(
        self, text: str = "", who: str = "wm-alice", kind: str = "text", **kw: Any
    ) -> list[Sent]:
        """A constituent message."""
        event = ConstituentMessage(
            channel="wecom_kf",
            external_id=who,
            platform_id=f"kf-{next(_ids)}",
            kind=kind,  # type: ignore[arg-type]
            sent_at=self.now,
            open_kfid="wk-1",
            text=text,
            **kw,
        )
        return self.send(event)

    def enter(self, scene: str, who: str = "wm-alice", scene_param: str = "") -> list[Sent]:
        """The constituent opens the chat from a QR code."""
        return self.send(
            ConstituentEntered(
                channel="wecom_kf",
                external_id=who,
                platform_id=f"kf-{next(_ids)}",
                sent_at=self.now,
                open_kfid="wk-1",
                scene=scene,
                scene_param=scene_param,
            )
        )

    def tap(self, menu_id: str, who: str = "wm-alice", text: str = "") -> list[Sent]:
        """A tap on a kf menu item."""
        return self.say(text, who=who, kind="menu", menu_id=menu_id)

    def text(self, user: str, text: str, conversation_id: str | None = None) -> list[Sent]:
        """A text command to the bot (1:1 unless a group is given)."""
        return self.send(
            StaffText(
                platform="dingtalk",
                user_id=user,
                platform_id=f"dt-{next(_ids)}",
                text=text,
                sent_at=self.now,
                conversation_id=conversation_id,
                conversation_type="group" if conversation_id else "private",
                reply_webhook="http://127.0.0.1:9/session",
                reply_webhook_expires_at=self.now + timedelta(hours=1),
            )
        )

    def click(
        self,
        user: str,
        action: str,
        case_id: int,
        conversation_id: str | None = None,
        **params: str,
    ) -> list[Sent]:
        """A card button click."""
        return self.send(
            CardAction(
                platform="dingtalk",
                user_id=user,
                platform_id=f"cb-{next(_ids)}",
                card_id=f"case-{case_id}",
                action=action,
                params={"case_id": str(case_id), **params},
                sent_at=self.now,
                conversation_id=conversation_id,
            )
        )

    # ------------------------------------------------------------ state

    def case(self, case_id: int) -> Case:
        """A fresh copy of the case."""
        with self.sessions() as session:
            case = session.get(Case, case_id)
            assert case is not None
            session.expunge(case)
            return case

    def events(self, case_id: int) -> list[CaseEvent]:
        """The case's event log."""
        with self.sessions() as session:
            out = events_of(session, case_id)
            session.expunge_all()
            return out

    def last_case_id(self) -> int:
        """The newest case's number."""
        with self.sessions() as session:
            value = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
            assert value is not None
            return int(value)

    def add(self, *rows: Any) -> None:
        """Insert directory rows (leave, roster, staff) in their own transaction."""
        with self.sessions() as session, session.begin():
            session.add_all(rows)


def to_constituent(sent: list[Sent]) -> list[Sent]:
    """Messages to constituents."""
    return [s for s in sent if s.kind == "to_constituent"]


def replies(sent: list[Sent], user: str | None = None) -> list[Sent]:
    """Replies to text commands and 1:1 messages, optionally to one DingTalk user."""
    return [s for s in sent if _addressed(s, user)]


def _addressed(s: Sent, user: str | None) -> bool:
    if s.kind == "reply":
        return user is None or s.payload["user_id"] == user
    if s.kind == "oto":
        return user is None or user in s.payload["user_ids"]
    return False


def texts_to(sent: list[Sent], user: str) -> list[str]:
    """Every text a DingTalk user was sent (replies and 1:1 messages)."""
    return [s.text for s in replies(sent, user)]


def leave(deputy_id: int, start: date, end: date, substitute_id: int | None = None) -> Leave:
    """A leave row."""
    return Leave(deputy_id=deputy_id, start_date=start, end_date=end, substitute_id=substitute_id)
