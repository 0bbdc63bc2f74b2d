"""Neutral outbound notices: what handlers ask the platforms to show, queued in the outbox.

A handler creates notices inside its transaction; `queue_notice` writes them to the outbox so
they are sent (with retries) only if the transaction commits. The adapter behind each outbox
channel turns a payload into platform calls.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from storage.models import Constituent, OutboxItem
from storage.outbox import add_outbound

Purpose = Literal["ack", "answer", "rating", "info"]


@dataclass(frozen=True)
class MenuItem:
    """One tappable choice of a kf msgmenu."""

    id: str
    text: str


@dataclass(frozen=True)
class ToConstituent:
    """A message to a constituent in WeChat: text, a menu, or an image file."""

    constituent_id: int
    text: str = ""
    menu: tuple[MenuItem, ...] = ()
    menu_tail: str = ""
    image_path: str | None = None
    purpose: Purpose = "info"
    # kf enter_session welcome_code: the adapter uses send_msg_on_event while it is valid (20 s);
    # such a welcome does not spend the 5-per-48h budget
    welcome_code: str | None = None
    # the case's answer number when this is that answer: its outcome is reported back
    # (handlers.delivery) so the deputy and the card learn whether it was delivered
    answer_seq: int | None = None
    # a co-signer's copy of another case's answer: that (main) case's id; its outcome counts in
    # the main case's delivery report (handlers/delivery_copies.py)
    answer_of: int | None = None


@dataclass(frozen=True)
class ToDingTalkUsers:
    """A 1:1 robot message to DingTalk users (markdown when `title` is set)."""

    user_ids: tuple[str, ...]
    text: str
    title: str | None = None
    # (label, text command) links under the text: the clicker's client sends the command
    choices: tuple[tuple[str, str], ...] = ()
    # notices with the same key go out in order, and those still waiting when one is sent are
    # folded into it (storage.outbox.fold_followers): a burst of a constituent's 补充 reaches the
    # deputy as one message, which saves the deputy pings and DingTalk calls (20 QPS per API)
    merge_key: str | None = None


@dataclass(frozen=True)
class ToDingTalkGroup:
    """A robot message in a DingTalk group, optionally @-mentioning users."""

    conversation_id: str
    text: str
    title: str | None = None
    at_user_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReplyToStaff:
    """The bot's answer to a deputy's or staff member's text command, in the same conversation."""

    user_id: str
    text: str
    conversation_id: str | None = None
    conversation_type: Literal["private", "group"] = "private"
    webhook: str | None = None
    webhook_expires_at: datetime | None = None
    choices: tuple[tuple[str, str], ...] = ()  # (label, text command) links, as on ToDingTalkUsers


# joins the spaces of one card; neither a conversation id nor a user id contains it
SPACE_SEPARATOR = ";"


@dataclass(frozen=True)
class PostCaseCard:
    """Post the live card of a case into groups and users' 1:1 chats with the bot (one card)."""

    case_id: int
    # "group:<openConversationId>" | "user:<userId>", several joined by SPACE_SEPARATOR
    space: str
    at_user_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToDingTalkMedia:
    """A constituent's photo (shown as a picture) or voice note / file, after the case card.

    The adapter re-uploads the kept file to DingTalk and posts it into `space` right after
    the case's card (same ordering key), so the picture sits under the card it belongs to.
    """

    case_id: int
    space: str  # "group:<openConversationId>" | "user:<userId>"
    kind: str  # image | voice | video | file
    path: str  # the file kept from WeCom (var/media/kf/...)
    file_name: str = ""  # how DingTalk names a non-image file


@dataclass(frozen=True)
class RefreshCaseCards:
    """Re-render every card of a case from its current state."""

    case_id: int
    note: str = ""  # e.g. a reminder line shown on the card


@dataclass(frozen=True)
class PostSolicitCards:
    """Deliver the solicitation's template card to each deputy's 1:1 chat (≤ 20 per row)."""

    solicitation_id: int
    deputy_ids: tuple[int, ...]


@dataclass(frozen=True)
class RefreshSolicitCards:
    """Re-render these deputies' solicitation cards from their answers (PUT, template mode)."""

    solicitation_id: int
    deputy_ids: tuple[int, ...]
    note: str = ""  # e.g. why a click was refused, shown on the card


@dataclass(frozen=True)
class ToWecomMember:
    """A WeCom self-built-app message to members (text, markdown or a button card)."""

    user_ids: tuple[str, ...]
    text: str
    markdown: bool = False
    buttons: tuple[MenuItem, ...] = field(default_factory=tuple)
    task_id: str | None = None


Notice = (
    ToConstituent
    | ToDingTalkUsers
    | ToDingTalkGroup
    | ReplyToStaff
    | PostCaseCard
    | ToDingTalkMedia
    | RefreshCaseCards
    | PostSolicitCards
    | RefreshSolicitCards
    | ToWecomMember
)


def queue_notice(
    session: Session, notice: Notice, *, case_id: int | None = None, dedupe_key: str | None = None
) -> OutboxItem:
    """Write `notice` to the outbox in the caller's transaction (once per `dedupe_key`)."""
    payload: dict[str, Any] = _jsonable(asdict(notice))
    if isinstance(notice, ToConstituent):
        person = session.get(Constituent, notice.constituent_id)
        if person is None:
            raise ValueError(f"unknown constituent {notice.constituent_id}")
        payload.update(external_id=person.external_id, open_kfid=person.open_kfid)
        return add_outbound(
            session,
            channel=person.channel,
            kind="to_constituent",
            payload=payload,
            ordering_key=f"constituent:{person.id}",
            purpose=notice.purpose,
            case_id=case_id,
        )
    if isinstance(notice, ToWecomMember):
        return add_outbound(
            session, channel="wecom_app", kind="to_member", payload=payload, case_id=case_id
        )
    kind, ordering = _dingtalk_kind(notice)
    return add_outbound(
        session,
        channel="dingtalk",
        kind=kind,
        payload=payload,
        ordering_key=ordering,
        dedupe_key=dedupe_key,
        case_id=case_id,
    )


def _dingtalk_kind(notice: Notice) -> tuple[str, str | None]:
    if isinstance(notice, ToDingTalkMedia):
        return "media", f"card:{notice.case_id}"  # after the card it belongs to
    if isinstance(notice, PostCaseCard | RefreshCaseCards):
        # create before update, in order, per case
        return (
            "card_post" if isinstance(notice, PostCaseCard) else "card_refresh",
            f"card:{notice.case_id}",
        )
    if isinstance(notice, PostSolicitCards):
        return "solicit_card", None
    if isinstance(notice, RefreshSolicitCards):
        key = f"solicit:{notice.solicitation_id}:{notice.deputy_ids[0]}"
        return "solicit_refresh", key if len(notice.deputy_ids) == 1 else None
    if isinstance(notice, ToDingTalkGroup):
        return "group", f"group:{notice.conversation_id}"
    if isinstance(notice, ReplyToStaff):
        return "reply", f"user:{notice.user_id}"
    if isinstance(notice, ToDingTalkUsers) and notice.merge_key:
        return "oto", f"merge:{notice.merge_key}"
    return "oto", None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
