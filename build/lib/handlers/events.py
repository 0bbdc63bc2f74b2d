"""Neutral inbound events: what the platform adapters hand to the handlers.

Adapters translate platform payloads into these; handlers never see a platform SDK object.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

ConstituentChannel = Literal["wecom_kf", "wecom_app"]


@dataclass(frozen=True)
class ConstituentMessage:
    """A message from a constituent (kf customer or app member writing as a constituent)."""

    channel: ConstituentChannel
    external_id: str  # kf external_userid / app UserID
    platform_id: str  # kf msgid / app MsgId — the dedupe key
    kind: Literal["text", "image", "voice", "location", "menu", "video", "file", "other"]
    sent_at: datetime
    open_kfid: str | None = None
    text: str = ""
    menu_id: str | None = None  # kf text.menu_id when the user tapped a msgmenu item
    media_path: str | None = None  # kept file for image / voice / video / file
    lat: float | None = None
    lng: float | None = None
    location_label: str | None = None


@dataclass(frozen=True)
class ConstituentEntered:
    """The constituent opened the kf chat (enter_session), possibly from a station QR code."""

    channel: ConstituentChannel
    external_id: str
    platform_id: str
    sent_at: datetime
    open_kfid: str | None = None
    scene: str = ""
    scene_param: str = ""
    welcome_code: str | None = None


@dataclass(frozen=True)
class DeliveryFailed:
    """The platform reported that a message we sent did not reach the constituent."""

    channel: ConstituentChannel
    external_id: str
    platform_id: str
    failed_msgid: str
    fail_type: int | None = None


@dataclass(frozen=True)
class StaffText:
    """Text from a deputy or staff member to the bot (DingTalk group @bot or 1:1, or WeCom app)."""

    platform: Literal["dingtalk", "wecom_app"]
    user_id: str  # DingTalk senderStaffId / WeCom member UserID
    platform_id: str
    text: str
    sent_at: datetime
    conversation_id: str | None = None
    conversation_type: Literal["private", "group"] = "private"
    sender_name: str | None = None
    reply_webhook: str | None = None  # DingTalk sessionWebhook
    reply_webhook_expires_at: datetime | None = None
    attachments: tuple[str, ...] = field(default_factory=tuple)  # downloadCodes / media ids


@dataclass(frozen=True)
class CardAction:
    """A click on a case card button (DingTalk card callback or WeCom template_card_event)."""

    platform: Literal["dingtalk", "wecom_app"]
    user_id: str
    platform_id: str
    card_id: str  # DingTalk outTrackId / WeCom task_id
    action: str  # claim | reply | transfer | ask_info | reject | ...
    params: dict[str, str]
    sent_at: datetime
    conversation_id: str | None = None


InboundEvent = ConstituentMessage | ConstituentEntered | DeliveryFailed | StaffText | CardAction
