"""The live case card as a platform-neutral view model, and the notices that post or refresh it.

Also the small helpers every handler uses to tell deputies and staff something: a 1:1 message,
or the reply to a command in the conversation it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers import cosign_card, queries, texts
from handlers.insight.card import insight_buttons, insight_fields
from handlers.notices import (
    SPACE_SEPARATOR,
    PostCaseCard,
    RefreshCaseCards,
    ReplyToStaff,
    ToDingTalkGroup,
    ToDingTalkMedia,
    ToDingTalkUsers,
    ToWecomMember,
    queue_notice,
)
from handlers.queries import Person
from storage.models import (
    Case,
    Constituent,
    Department,
    Deputy,
    Message,
    Rating,
    Staff,
    Station,
)

MEDIA_KINDS = ("image", "voice", "video", "file")

# Buttons shown on the card in each status (the state machine decides what they may do).
_BUTTONS: dict[str, tuple[str, ...]] = {
    "assigned": ("claim", "reject"),
    "accepted": ("reply", "transfer", "ask_info", "reject"),
    "reopened": ("reply", "transfer", "ask_info", "reject"),
    "need_info": ("reply", "reject"),
    "transferred": ("reply",),  # the department answers from its own group
}


class CardButton(NamedTuple):
    """One button: action id (as in CardAction.action), label, and the equivalent text command."""

    action: str
    label: str
    command: str


@dataclass(frozen=True)
class CaseCardView:
    """Everything a platform needs to render the card of one case."""

    case_id: int
    title: str
    status: str
    status_label: str
    fields: tuple[tuple[str, str], ...]
    holder_line: str
    buttons: tuple[CardButton, ...]
    text: str

    def as_text(self) -> str:
        """The card as plain lines (for the `#123` command and markdown fallbacks)."""
        return texts.case_detail(self.title, self.fields, self.holder_line)


def case_card(session: Session, case_id: int, now: datetime | None = None) -> CaseCardView:
    """The view model of the card of `case_id` (`now` decides whether the claim shows a date)."""
    case = session.get(Case, case_id)
    if case is None:
        raise LookupError(f"no case {case_id}")
    return CaseCardView(
        case_id=case.id,
        title=texts.card_headline(case.id, case.text or _media_placeholder(session, case)),
        status=case.status,
        status_label=texts.status_label(case.status),
        fields=tuple(_fields(session, case)),
        holder_line=_holder_line(session, case, now),
        buttons=tuple(
            CardButton(a, texts.CARD_BUTTON_LABELS[a], texts.card_command(a, case.id))
            for a in _BUTTONS.get(case.status, ())
        )
        + tuple(CardButton(*b) for b in cosign_card.card_buttons(case))
        + tuple(CardButton(*b) for b in insight_buttons(case)),
        text=case.text,
    )


def _fields(session: Session, case: Case) -> Iterable[tuple[str, str]]:
    labels = texts.CARD_FIELD_LABELS
    station = session.get(Station, case.station_id) if case.station_id else None
    yield labels["station"], station.name if station else texts.station_unknown()
    constituent = session.get(Constituent, case.constituent_id)
    yield (
        labels["constituent"],
        texts.mask_constituent(constituent.external_id if constituent else ""),
    )
    yield labels["opened_at"], texts.fmt_when(case.created_at)
    location = _location(case)
    if location:
        yield labels["location"], location
    yield from insight_fields(session, case)
    yield from cosign_card.card_fields(session, case)
    yield labels["status"], texts.status_label(case.status)
    handler = queries.assignee_of(session, case)
    yield labels["handler"], handler.title if handler else texts.unassigned()
    if case.department_id is not None:
        dept = session.get(Department, case.department_id)
        if dept is not None:
            yield labels["department"], dept.name
    deadline = queries.current_deadline(case)
    if deadline is not None:
        yield (
            labels["due"],
            texts.card_due_line(deadline[0], deadline[1], provisional=bool(case.due_provisional)),
        )
    media = media_counts(session, case)
    if media:
        yield labels["attachments"], texts.attachment_summary(media)
    if case.answer:
        yield labels["answer"], case.answer
        from handlers.delivery import card_label  # delivery tells people through this module

        delivery = card_label(session, case)
        if delivery:
            yield labels["delivery"], delivery
    if case.rating:
        label = texts.rating_label(case.rating)
        reason = session.scalar(
            select(Rating.reason)
            .where(Rating.case_id == case.id, Rating.answer_seq == case.answer_seq)
            .limit(1)
        )
        yield labels["rating"], texts.rating_with_reason(label, reason) if reason else label


def _location(case: Case) -> str:
    if case.location_label or case.lat is not None:
        return texts.location_text(case.location_label, case.lat, case.lng).removeprefix("位置：")
    return case.plate or ""


def media_counts(session: Session, case: Case) -> dict[str, int]:
    """How many photos, voice notes, videos and files the constituent sent, by kind."""
    stmt = (
        select(Message.kind, func.count(Message.id))
        .where(Message.case_id == case.id, Message.direction == "in", Message.kind.in_(MEDIA_KINDS))
        .group_by(Message.kind)
    )
    found = {str(kind): int(n) for kind, n in session.execute(stmt)}
    return {kind: found[kind] for kind in MEDIA_KINDS if found.get(kind)}


def case_media(session: Session, case: Case) -> list[Message]:
    """The constituent's kept files of this case, oldest first."""
    stmt = (
        select(Message)
        .where(
            Message.case_id == case.id,
            Message.direction == "in",
            Message.kind.in_(MEDIA_KINDS),
            Message.media_path.is_not(None),
        )
        .order_by(Message.id)
    )
    return list(session.scalars(stmt))


def _media_placeholder(session: Session, case: Case) -> str:
    return texts.media_only_summary() if media_counts(session, case) else ""


def _holder_line(session: Session, case: Case, now: datetime | None) -> str:
    handler = queries.assignee_of(session, case)
    if handler is None:
        return ""
    if case.claimed_at is not None:
        today = now.astimezone(texts.BEIJING).date() if now else None
        return texts.claimed_by(handler.title, case.claimed_at, today)
    if case.status == "assigned":
        return texts.awaiting_claim(handler.title)
    return ""


# ---------------------------------------------------------------- card notices


def post_assignment_cards(session: Session, case: Case) -> None:
    """Post the card to the station group (@ the assignee) and to the assignee's 1:1 chat.

    One card instance in both spaces: DingTalk delivers it in one call and keeps both copies in
    step on every update, which halves the calls per case under its 20 QPS per API limit.
    """
    handler = queries.assignee_of(session, case)
    station = session.get(Station, case.station_id) if case.station_id else None
    at = (handler.dingtalk_user_id,) if handler and handler.dingtalk_user_id else ()
    spaces = []
    if station is not None and station.dingtalk_group_id:
        spaces.append(f"group:{station.dingtalk_group_id}")
    if handler is not None and handler.dingtalk_user_id:
        spaces.append(f"user:{handler.dingtalk_user_id}")
    if spaces:
        post_card(session, case, spaces, at)


def post_card(
    session: Session, case: Case, spaces: str | Sequence[str], at: tuple[str, ...] = ()
) -> None:
    """Post the case card into DingTalk spaces, each followed by the constituent's photos."""
    targets = [spaces] if isinstance(spaces, str) else list(spaces)
    queue_notice(
        session,
        PostCaseCard(case.id, SPACE_SEPARATOR.join(targets), at_user_ids=at),
        case_id=case.id,
    )
    media = case_media(session, case)
    for space in targets:
        post_media(session, case, space, media)


def post_media(session: Session, case: Case, space: str, messages: Iterable[Message]) -> None:
    """Show the constituent's kept files in a DingTalk space (after the case card)."""
    for msg in messages:
        if not msg.media_path:
            continue
        suffix = PurePath(msg.media_path).suffix
        queue_notice(
            session,
            ToDingTalkMedia(
                case.id,
                space,
                msg.kind,
                msg.media_path,
                file_name=texts.media_file_name(case.id, msg.kind, suffix),
            ),
            case_id=case.id,
        )


def post_to_person(session: Session, case: Case, person: Person) -> None:
    """Post the case card (and its photos) into one person's 1:1 chat with the bot."""
    if person.dingtalk_user_id:
        post_card(session, case, f"user:{person.dingtalk_user_id}")
    elif person.wecom_user_id:
        view = case_card(session, case.id)
        queue_notice(
            session, ToWecomMember((person.wecom_user_id,), view.as_text()), case_id=case.id
        )


def refresh_cards(session: Session, case: Case, note: str = "") -> None:
    """Re-render every card of the case from its current state."""
    queue_notice(session, RefreshCaseCards(case.id, note=note), case_id=case.id)


# ---------------------------------------------------------------- messages to people


def tell(
    session: Session,
    people: Iterable[Person],
    text: str,
    case_id: int | None = None,
    *,
    merge_key: str | None = None,
) -> None:
    """A 1:1 message to deputies/staff: DingTalk when known, else the WeCom app.

    With `merge_key`, DingTalk messages of that key still waiting when an earlier one is sent
    go out with it as one message (handlers.notices.ToDingTalkUsers.merge_key).
    """
    seen: set[str] = set()
    ding: list[str] = []
    wecom: list[str] = []
    for p in people:
        if p.dingtalk_user_id and p.dingtalk_user_id not in seen:
            seen.add(p.dingtalk_user_id)
            ding.append(p.dingtalk_user_id)
        elif not p.dingtalk_user_id and p.wecom_user_id:
            wecom.append(p.wecom_user_id)
    for i in range(0, len(ding), 20):  # DingTalk batchSend takes at most 20 users
        users = tuple(ding[i : i + 20])
        key = f"{merge_key}:{','.join(users)}" if merge_key else None
        queue_notice(session, ToDingTalkUsers(users, text, merge_key=key), case_id=case_id)
    if wecom:
        queue_notice(session, ToWecomMember(tuple(wecom), text), case_id=case_id)


def tell_group(
    session: Session,
    conversation_id: str,
    text: str,
    at: Iterable[str] = (),
    case_id: int | None = None,
    dedupe_key: str | None = None,
) -> None:
    """A robot message in a DingTalk group, @-mentioning `at`."""
    queue_notice(
        session,
        ToDingTalkGroup(conversation_id, text, at_user_ids=tuple(dict.fromkeys(at))),
        case_id=case_id,
        dedupe_key=dedupe_key,
    )


def staff_people(staff: Iterable[Staff]) -> list[Person]:
    """Staff rows as people."""
    return [queries.staff_person(s) for s in staff]


def deputy_people(session: Session, deputies: Iterable[Deputy]) -> list[Person]:
    """Deputy rows as people."""
    return [queries.deputy_person(session, d) for d in deputies]


@dataclass(frozen=True)
class ReplyTarget:
    """Where the answer to a deputy's or staff member's action goes."""

    platform: str  # dingtalk | wecom_app
    user_id: str
    conversation_id: str | None = None
    conversation_type: str = "private"
    webhook: str | None = None
    webhook_expires_at: datetime | None = None
    from_text: bool = True  # a text command (reply in place) or a card click (reply 1:1)


def reply(
    session: Session,
    target: ReplyTarget,
    text: str,
    case_id: int | None = None,
    choices: tuple[tuple[str, str], ...] = (),
) -> None:
    """Answer the person who acted, in the conversation they used.

    `choices` are (label, text command) pairs DingTalk shows as links under the text (the
    clicker's client sends the command); elsewhere the text itself must name the options.
    """
    if target.platform == "wecom_app":
        queue_notice(session, ToWecomMember((target.user_id,), text), case_id=case_id)
    elif target.from_text:
        queue_notice(
            session,
            ReplyToStaff(
                user_id=target.user_id,
                text=text,
                conversation_id=target.conversation_id,
                conversation_type="group" if target.conversation_type == "group" else "private",
                webhook=target.webhook,
                webhook_expires_at=target.webhook_expires_at,
                choices=choices,
            ),
            case_id=case_id,
        )
    else:
        notice = ToDingTalkUsers((target.user_id,), text, choices=choices)
        queue_notice(session, notice, case_id=case_id)
