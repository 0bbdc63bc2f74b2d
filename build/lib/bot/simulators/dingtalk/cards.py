"""Interactive card instances (`/v1.0/card/…`, dingtalk.md §3, §4.4): state and update rules."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from bot.simulators.dingtalk import errors
from bot.simulators.dingtalk.errors import bad_request

OUT_TRACK_ID_MAX = 64
SPACE_PREFIX = "dtv1.card//"


@dataclass
class Card:
    """One card instance and everything the server knows about it."""

    out_track_id: str
    template_id: str
    callback_type: str
    callback_route_key: str
    user_id_type: int
    params: dict[str, str]
    private: dict[str, dict[str, str]] = field(default_factory=dict)
    spaces: list[tuple[str, str]] = field(default_factory=list)
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    version: int = 1

    def view(self) -> dict[str, Any]:
        """The card as the control API shows it."""
        return copy.deepcopy(
            {
                "outTrackId": self.out_track_id,
                "cardTemplateId": self.template_id,
                "callbackType": self.callback_type,
                "userIdType": self.user_id_type,
                "cardParamMap": self.params,
                "privateData": {uid: {"cardParamMap": m} for uid, m in self.private.items()},
                "spaces": [{"spaceType": t, "spaceId": s} for t, s in self.spaces],
                "streaming": self.streams,
                "version": self.version,
            }
        )


def _stringify(value: Any) -> str:
    """cardParamMap values are strings; scalars are coerced the way a Map<String,String> would."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise bad_request(errors.CARD_PARAM_INVALID, "cardParamMap 的值必须是字符串")
    return json.dumps(value, ensure_ascii=False)


def param_map(holder: Any, *, required: bool) -> dict[str, str] | None:
    """`holder["cardParamMap"]` validated and stringified (holder is cardData / a private entry)."""
    if holder is None and not required:
        return None
    if not isinstance(holder, dict) or not isinstance(holder.get("cardParamMap", {}), dict):
        raise bad_request(errors.CARD_DATA_EMPTY, "cardData.cardParamMap 缺失或不是对象")
    return {str(k): _stringify(v) for k, v in holder.get("cardParamMap", {}).items()}


def merge(old: dict[str, str], new: dict[str, str], by_key: bool) -> dict[str, str]:
    """Update semantics of cardUpdateOptions: merge by key, or (default) replace the whole map."""
    return {**old, **new} if by_key else dict(new)


def parse_spaces(open_space_id: Any) -> list[tuple[str, str]]:
    """`dtv1.card//IM_GROUP.cid…;IM_ROBOT.uid` → [("IM_GROUP", "cid…"), ("IM_ROBOT", "uid")]."""
    if not isinstance(open_space_id, str) or not open_space_id.startswith(SPACE_PREFIX):
        raise bad_request(errors.OPEN_SPACE_ID, "openSpaceId 格式不正确")
    spaces = []
    for part in open_space_id[len(SPACE_PREFIX) :].split(";"):
        space_type, dot, space_id = part.partition(".")
        if not dot or not space_type or not space_id:
            raise bad_request(errors.OPEN_SPACE_ID, f"openSpaceId 片段 {part!r} 不正确")
        spaces.append((space_type, space_id))
    return spaces


class CardStore:
    """All card instances of the app, keyed by outTrackId."""

    def __init__(self) -> None:
        self.cards: dict[str, Card] = {}
        self.non_string_values = 0

    def get(self, out_track_id: Any) -> Card:
        """A card, or a 400 ApiError when it does not exist."""
        if not isinstance(out_track_id, str) or not out_track_id:
            raise bad_request(errors.OUT_TRACK_ID_EMPTY, "outTrackId 为空")
        card = self.cards.get(out_track_id)
        if card is None:
            raise bad_request(errors.CARD_NOT_FOUND, f"卡片实例 {out_track_id} 不存在")
        return card

    def create(self, body: dict[str, Any]) -> Card:
        """`POST /v1.0/card/instances` (also the first half of createAndDeliver)."""
        template = body.get("cardTemplateId")
        if not isinstance(template, str) or not template:
            raise bad_request(errors.CARD_TEMPLATE_EMPTY, "cardTemplateId 为空")
        out_track_id = body.get("outTrackId")
        if not isinstance(out_track_id, str) or not out_track_id:
            raise bad_request(errors.OUT_TRACK_ID_EMPTY, "outTrackId 为空")
        if len(out_track_id) > OUT_TRACK_ID_MAX:
            raise bad_request(errors.OUT_TRACK_ID_INVALID, "outTrackId 超过 64 个字符")
        if out_track_id in self.cards:
            raise bad_request(errors.OUT_TRACK_ID_DUPLICATE, f"outTrackId {out_track_id} 已存在")
        params = param_map(body.get("cardData"), required=True) or {}
        card = Card(
            out_track_id=out_track_id,
            template_id=template,
            callback_type=str(body.get("callbackType") or ""),
            callback_route_key=str(body.get("callbackRouteKey") or ""),
            user_id_type=int(body.get("userIdType") or 1),
            params=params,
        )
        self._count_non_strings(body.get("cardData"))
        self._apply_private(card, body.get("privateData"), by_key=False)
        self.cards[out_track_id] = card
        return card

    def update(self, body: dict[str, Any]) -> Card:
        """`PUT /v1.0/card/instances`: public and private data, per cardUpdateOptions."""
        card = self.get(body.get("outTrackId"))
        options = body.get("cardUpdateOptions") or {}
        new = param_map(body.get("cardData"), required=False)
        if new is not None:
            self._count_non_strings(body.get("cardData"))
            card.params = merge(card.params, new, bool(options.get("updateCardDataByKey")))
        self._apply_private(
            card, body.get("privateData"), bool(options.get("updatePrivateDataByKey"))
        )
        card.version += 1
        return card

    def stream(self, body: dict[str, Any]) -> Card:
        """`PUT /v1.0/card/streaming`: full or appended content for one key."""
        card = self.get(body.get("outTrackId"))
        key = body.get("key")
        content = body.get("content")
        if not isinstance(key, str) or not key or not isinstance(content, str):
            raise bad_request(errors.INVALID_PARAMETER, "key 和 content 必须是非空字符串")
        full = bool(body.get("isFull"))
        card.params[key] = content if full else card.params.get(key, "") + content
        card.streams[key] = {
            "guid": body.get("guid"),
            "isFinalize": bool(body.get("isFinalize")),
            "isError": bool(body.get("isError")),
        }
        card.version += 1
        return card

    def apply_response(self, card: Card, user_id: str, response: dict[str, Any]) -> None:
        """Apply a card-callback ACK response (§3): cardData, userPrivateData, privateData."""
        options = response.get("cardUpdateOptions") or {}
        new = param_map(response.get("cardData"), required=False)
        if new is not None:
            card.params = merge(card.params, new, bool(options.get("updateCardDataByKey")))
        by_key = bool(options.get("updatePrivateDataByKey"))
        mine = param_map(response.get("userPrivateData"), required=False)
        if mine is not None:
            card.private[user_id] = merge(card.private.get(user_id, {}), mine, by_key)
        self._apply_private(card, response.get("privateData"), by_key)
        card.version += 1

    def _apply_private(self, card: Card, private: Any, by_key: bool) -> None:
        if private is None:
            return
        if not isinstance(private, dict):
            raise bad_request(errors.INVALID_PARAMETER, "privateData 必须是对象")
        for user_id, holder in private.items():
            new = param_map(holder, required=True) or {}
            card.private[user_id] = merge(card.private.get(user_id, {}), new, by_key)

    def _count_non_strings(self, card_data: Any) -> None:
        values = card_data.get("cardParamMap", {}).values() if isinstance(card_data, dict) else []
        self.non_string_values += sum(1 for v in values if not isinstance(v, str))
