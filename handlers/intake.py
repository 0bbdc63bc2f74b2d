"""Intake: a constituent's first message opens a case; follow-ups join it; 「新问题」 opens another.

One message is enough: the case is opened and acknowledged at once (number, station, deputy,
what happens next). Without a known station the acknowledgement carries a menu of stations,
and a shared location picks the nearest one. Photos and locations attach to the open case;
a sticker or an empty message gets a polite request to describe the problem.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from handlers import cards, cosign, escalation, insight, queries, rating, routing, texts
from handlers.caselog import note, transition
from handlers.context import HandlerContext
from handlers.cosign_follow import follow_up as cosigner_follow_up
from handlers.cosign_follow import merged_case_and_main
from handlers.events import ConstituentEntered, ConstituentMessage
from handlers.lifecycle import Action, Status
from handlers.notices import MenuItem, ToConstituent, queue_notice
from handlers.workbench.masked import mask_later
from storage.models import Case, CaseEvent, Constituent, Message, SceneCode, Station

NEW_CASE = "new_case"  # Constituent.state: the next message opens a new case
ORPHAN_WINDOW = timedelta(hours=1)  # a location or photo sent just before the text joins its case
MAX_MENU_STATIONS = 10
_ATTACHABLE = ("location", "image", "voice", "video", "file")


def constituent_for(
    session: Session, channel: str, external_id: str, open_kfid: str | None, ctx: HandlerContext
) -> Constituent:
    """The constituent behind (channel, external_id), created on first contact."""
    person = find_constituent(session, channel, external_id)
    if person is None:
        person = Constituent(
            channel=channel, external_id=external_id, sends_since_inbound=0, created_at=ctx.now
        )
        session.add(person)
    if open_kfid:
        person.open_kfid = open_kfid
    session.flush()
    session.info.setdefault(_FOUND, {})[(channel, external_id)] = person
    return person


_FOUND = "lianxin.constituents"  # session.info: (channel, external_id) → Constituent


def find_constituent(session: Session, channel: str, external_id: str) -> Constituent | None:
    """The constituent behind (channel, external_id), if any; asked once per session (the
    adapter and the handlers both look them up for every message)."""
    found: dict[tuple[str, str], Constituent] = session.info.setdefault(_FOUND, {})
    person = found.get((channel, external_id))
    if person is not None and person in session and inspect(person).persistent:
        return person
    stmt = select(Constituent).where(
        Constituent.channel == channel, Constituent.external_id == external_id
    )
    person = session.scalars(stmt).first()
    if person is not None:
        found[(channel, external_id)] = person
    return person


def say(session: Session, person: Constituent, text: str, case_id: int | None = None) -> None:
    """An informational message to the constituent."""
    queue_notice(session, ToConstituent(person.id, text, purpose="info"), case_id=case_id)


# ---------------------------------------------------------------- entry points


def on_entered(session: Session, ev: ConstituentEntered, msg: Message, ctx: HandlerContext) -> None:
    """The chat was opened, maybe from a station or door-plate QR code: remember the station."""
    person = constituent_for(session, ev.channel, ev.external_id, ev.open_kfid, ctx)
    msg.constituent_id = person.id
    scene = (
        session.scalars(select(SceneCode).where(SceneCode.scene == ev.scene)).first()
        if ev.scene
        else None
    )
    if scene is not None:
        person.station_id = scene.station_id
        person.plate = ev.scene_param or scene.plate or None
        case = _unrouted_case(session, person)
        if case is not None:
            _assign_station(session, case, person, scene.station_id, "scene", ctx)
            return
    if ev.welcome_code:
        station = session.get(Station, person.station_id) if person.station_id else None
        text = texts.welcome(station.name if station else None)
        queue_notice(session, ToConstituent(person.id, text, welcome_code=ev.welcome_code))


def on_message(session: Session, ev: ConstituentMessage, msg: Message, ctx: HandlerContext) -> None:
    """Any message from a constituent: rating, station choice, new case, follow-up or info."""
    person = constituent_for(session, ev.channel, ev.external_id, ev.open_kfid, ctx)
    # the 48-hour send window (last_inbound_at, sends_since_inbound) is the WeCom adapter's
    msg.constituent_id = person.id
    text = ev.text.strip()
    if ev.kind == "menu":
        _on_menu(session, person, ev, msg, ctx)
    elif ev.kind == "text" and text.startswith(texts.NEW_CASE_KEYWORD):
        _on_new_problem(session, person, ev, msg, text, ctx)
    elif (
        person.state == rating.AWAIT_REASON
        and ev.kind == "text"
        and text
        and rating.take_reason(session, person, text, msg, ctx)
    ):
        return
    elif ev.kind == "location":
        _on_location(session, person, ev, msg, ctx)
    elif ev.kind == "other" or (ev.kind == "text" and not text):
        say(session, person, texts.ask_to_describe())
    else:
        _on_problem_text(session, person, ev, msg, text, ctx)


def _on_problem_text(
    session: Session,
    person: Constituent,
    ev: ConstituentMessage,
    msg: Message,
    text: str,
    ctx: HandlerContext,
) -> None:
    if person.state == NEW_CASE:
        open_case(session, person, ev, msg, text, ctx)
        return
    case = queries.latest_open_case(session, person)
    cosigned = merged_case_and_main(session, person) if case is None else None
    if cosigned is not None:  # a co-signer writes again while the main case is open
        cosigner_follow_up(session, *cosigned, person, msg, ev.kind, text, ctx)
    elif case is None:
        open_case(session, person, ev, msg, text, ctx)
    else:
        follow_up(session, case, person, ev, msg, text, ctx)


def _on_new_problem(
    session: Session,
    person: Constituent,
    ev: ConstituentMessage,
    msg: Message,
    text: str,
    ctx: HandlerContext,
) -> None:
    rest = text[len(texts.NEW_CASE_KEYWORD) :].lstrip(" \u3000:：,，。.!！")
    person.state = None
    person.state_case_id = None
    if rest:
        open_case(session, person, ev, msg, rest, ctx)
        return
    person.state = NEW_CASE
    say(session, person, texts.new_case_prompt())


def _on_menu(
    session: Session, person: Constituent, ev: ConstituentMessage, msg: Message, ctx: HandlerContext
) -> None:
    choice = ev.menu_id or ""
    if choice.startswith("rate:"):
        rating.on_rate(session, person, choice, msg, ctx)
    elif choice.startswith("station:"):
        _on_station_choice(session, person, choice.removeprefix("station:"), ctx)
    else:
        say(session, person, texts.ask_to_describe())


def _on_station_choice(
    session: Session, person: Constituent, code: str, ctx: HandlerContext
) -> None:
    station = session.scalars(select(Station).where(Station.code == code)).first()
    if station is None:
        say(session, person, texts.ask_to_describe())
        return
    person.station_id = station.id
    case = _unrouted_case(session, person)
    if case is None:
        say(session, person, texts.station_chosen(station.name))
        return
    _assign_station(session, case, person, station.id, "menu", ctx)


def _on_location(
    session: Session, person: Constituent, ev: ConstituentMessage, msg: Message, ctx: HandlerContext
) -> None:
    if ev.lat is None or ev.lng is None:
        say(session, person, texts.ask_to_describe())
        return
    msg.lat, msg.lng, msg.text = ev.lat, ev.lng, ev.location_label or ev.text or None
    case = None if person.state == NEW_CASE else queries.latest_open_case(session, person)
    if case is not None:
        follow_up(session, case, person, ev, msg, "", ctx)
        return
    if person.station_id is None:
        station = queries.nearest_station(session, ev.lat, ev.lng)
        if station is not None:
            person.station_id = station.id
            say(session, person, texts.station_matched(station.name))
            return
    say(session, person, texts.location_received())


# ---------------------------------------------------------------- opening a case


def open_case(
    session: Session,
    person: Constituent,
    ev: ConstituentMessage,
    msg: Message,
    text: str,
    ctx: HandlerContext,
) -> Case:
    """Open a case from one message, route it if the station is known, and acknowledge it."""
    person.state = None
    person.state_case_id = None
    case = Case(
        status=Status.NEW.value,
        constituent_id=person.id,
        station_id=person.station_id,
        text=text if ev.kind == "text" else "",
        plate=person.plate,
        created_at=ctx.now,
        updated_at=ctx.now,
        answer_seq=0,
        rework_count=0,
        escalation_level=0,
        paused_seconds=0.0,
    )
    session.add(case)
    session.flush()
    if case.text:
        mask_later(session, case.id)  # masked by a worker after the ack (exports read it)
    msg.case_id = case.id
    _attach_location(case, msg)
    _adopt_orphans(session, person, case, msg, ctx)
    note(
        session,
        case,
        "opened",
        rating.constituent_actor(person),
        ctx.now,
        message_id=msg.id,
        message_kind=ev.kind,
    )
    episode = insight.Settings(episode_days=ctx.episode_days)
    insight.annotate_case(session, case, ctx, episode)  # category, place, similar cases (民情大脑)
    if case.station_id is not None:
        routing.route_case(session, case, ctx, "remembered")
        ack(session, case, person, ctx)
    elif case.lat is not None and case.lng is not None and _nearest(session, case) is not None:
        _assign_station(session, case, person, _nearest_id(session, case), "location", ctx)
    else:
        escalation.refresh_dues(session, case, ctx)
        _ask_station(session, case, person)
    cosign.auto_merge(session, case, ctx)  # only when [insight] auto_merge is on
    return case


def _nearest(session: Session, case: Case) -> Station | None:
    assert case.lat is not None and case.lng is not None
    return queries.nearest_station(session, case.lat, case.lng)


def _nearest_id(session: Session, case: Case) -> int:
    station = _nearest(session, case)
    assert station is not None
    return station.id


def _attach_location(case: Case, msg: Message) -> None:
    if msg.lat is None or msg.lng is None or case.lat is not None:
        return
    case.lat, case.lng = msg.lat, msg.lng
    case.location_label = msg.text


def _adopt_orphans(
    session: Session, person: Constituent, case: Case, msg: Message, ctx: HandlerContext
) -> None:
    """Photos and locations sent just before the first text belong to the new case."""
    stmt = (
        select(Message)
        .where(
            Message.constituent_id == person.id,
            Message.case_id.is_(None),
            Message.direction == "in",
            Message.kind.in_(_ATTACHABLE),
            Message.created_at >= ctx.now - ORPHAN_WINDOW,
            Message.id != msg.id,
        )
        .order_by(Message.id)
    )
    for orphan in session.scalars(stmt):
        orphan.case_id = case.id
        _attach_location(case, orphan)


def _unrouted_case(session: Session, person: Constituent) -> Case | None:
    stmt = (
        select(Case)
        .where(
            Case.constituent_id == person.id,
            Case.status == Status.NEW.value,
            Case.station_id.is_(None),
        )
        .order_by(Case.id.desc())
    )
    return session.scalars(stmt).first()


def _assign_station(
    session: Session,
    case: Case,
    person: Constituent,
    station_id: int,
    source: str,
    ctx: HandlerContext,
) -> None:
    locked = queries.lock_case(session, case.id)
    if locked is None or locked.station_id is not None or locked.status != Status.NEW:
        return
    person.station_id = station_id
    locked.station_id = station_id
    if locked.plate is None:
        locked.plate = person.plate
    routing.route_case(session, locked, ctx, source)
    ack(session, locked, person, ctx)


def ack(session: Session, case: Case, person: Constituent, ctx: HandlerContext) -> None:
    """The one acknowledgement: number, station, handler, and when to expect progress."""
    station = session.get(Station, case.station_id) if case.station_id else None
    policy = escalation.policy_for(session, case.region_id, ctx)
    text = texts.ack_new_case(
        case.id,
        station.name if station else texts.station_unknown(),
        queries.handler_public_name(session, case),
        policy.answer_days,
    )
    queue_notice(session, ToConstituent(person.id, text, purpose="ack"), case_id=case.id)


def _ask_station(session: Session, case: Case, person: Constituent) -> None:
    stations = list(
        session.scalars(
            select(Station).order_by(Station.region_id, Station.code).limit(MAX_MENU_STATIONS)
        )
    )
    if not stations:
        queue_notice(
            session,
            ToConstituent(person.id, texts.ack_unrouted(case.id), purpose="ack"),
            case_id=case.id,
        )
        return
    menu = tuple(MenuItem(f"station:{s.code}", s.name) for s in stations)
    queue_notice(
        session,
        ToConstituent(person.id, texts.ack_choose_station(case.id), menu=menu, purpose="ack"),
        case_id=case.id,
    )


# ---------------------------------------------------------------- follow-ups


def follow_up(
    session: Session,
    case: Case,
    person: Constituent,
    ev: ConstituentMessage,
    msg: Message,
    text: str,
    ctx: HandlerContext,
) -> None:
    """A later message joins the open case; during need_info it is the requested detail."""
    locked = queries.lock_case(session, case.id)
    assert locked is not None
    case = locked
    msg.case_id = case.id
    _attach_location(case, msg)
    if case.status == Status.NEED_INFO:
        _info_provided(session, case, person, ev, msg, text, ctx)
        return
    previous = _last_contact(session, case)
    note(
        session,
        case,
        "follow_up",
        rating.constituent_actor(person),
        ctx.now,
        message_id=msg.id,
        message_kind=ev.kind,
    )
    if case.station_id is None and case.lat is not None and _nearest(session, case) is not None:
        _assign_station(session, case, person, _nearest_id(session, case), "location", ctx)
        return
    _forward_to_handler(session, case, ev, msg, text)
    if ev.kind != "text":
        cards.refresh_cards(session, case)
    if previous is None or ctx.now - previous > timedelta(minutes=ctx.burst_minutes):
        say(session, person, texts.follow_up_joined(case.id), case.id)


def _last_contact(session: Session, case: Case) -> datetime | None:
    stmt = (
        select(CaseEvent.at)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind.in_(("opened", "follow_up")))
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _forward_to_handler(
    session: Session, case: Case, ev: ConstituentMessage, msg: Message, text: str
) -> None:
    handler = queries.assignee_of(session, case)
    if handler is None:
        return
    if ev.kind == "text":
        body = texts.supplement_arrived(case.id, text)
    elif ev.kind == "location":
        body = texts.supplement_arrived(case.id, texts.location_text(msg.text, msg.lat, msg.lng))
    else:
        shown = bool(msg.media_path and handler.dingtalk_user_id)
        body = texts.supplement_media_arrived(case.id, ev.kind, shown=shown)
    # a burst of 补充 reaches the deputy as one message when it arrives faster than it is sent
    cards.tell(session, [handler], body, case_id=case.id, merge_key=f"supplement:{case.id}")
    if ev.kind in cards.MEDIA_KINDS and msg.media_path:
        _show_media(session, case, handler, msg)


def _show_media(session: Session, case: Case, handler: queries.Person, msg: Message) -> None:
    """The photo or file itself: to the handler and, while nobody has claimed, the station."""
    spaces = [f"user:{handler.dingtalk_user_id}"] if handler.dingtalk_user_id else []
    station = session.get(Station, case.station_id) if case.station_id else None
    if case.status == Status.ASSIGNED and station is not None and station.dingtalk_group_id:
        spaces.append(f"group:{station.dingtalk_group_id}")
    for space in spaces:
        cards.post_media(session, case, space, [msg])


def _info_provided(
    session: Session,
    case: Case,
    person: Constituent,
    ev: ConstituentMessage,
    msg: Message,
    text: str,
    ctx: HandlerContext,
) -> None:
    transition(
        session,
        case,
        Action.INFO_PROVIDED,
        rating.constituent_actor(person),
        ctx.now,
        message_id=msg.id,
        message_kind=ev.kind,
    )
    escalation.resume_clock(case, ctx)
    escalation.refresh_dues(session, case, ctx)
    _forward_to_handler(session, case, ev, msg, text)
    cards.refresh_cards(session, case)
    say(session, person, texts.follow_up_joined(case.id), case.id)
