"""The simulated DingTalk server's state and operations, shared by the OpenAPI routes, the
`/_sim/` control routes and the Python API. Everything here runs on the simulator's loop."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.simulators.dingtalk import errors
from bot.simulators.dingtalk.cards import Card, CardStore, parse_spaces
from bot.simulators.dingtalk.errors import ApiError, bad_request
from bot.simulators.dingtalk.gateway import StreamGateway
from bot.simulators.dingtalk.media import Media, MediaStore, media_refs
from bot.simulators.dingtalk.messages import (
    Views,
    parse_msg,
    parse_webhook_body,
    recall_body,
    require_str_list,
    robot_entry,
)
from bot.simulators.dingtalk.payloads import (
    BOT_TOPIC,
    CARD_TOPIC,
    bot_message,
    card_callback,
    private_conversation_id,
)
from bot.simulators.dingtalk.support import Context, Directory, Faults, QpsLimiter, TokenStore

MAX_BATCH_USERS = 20
TINY_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\xdac8!'\x07\x00\x02\xb6\x01\x05\n[\xa6\x06\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)


@dataclass
class Session:
    """A sessionWebhook: where it posts to and until when."""

    space: tuple[str, str]  # ("group", cid) or ("user", uid)
    expires_at: float


class SimCore:
    """One DingTalk app (clientId) with its org, chats, cards and Stream gateway."""

    def __init__(
        self, ctx: Context, gateway: StreamGateway, *, robot_code: str, qps_limit: int
    ) -> None:
        self.ctx = ctx
        self.gateway = gateway
        self.robot_code = robot_code
        self.directory = Directory()
        self.views = Views()
        self.cards = CardStore()
        self.tokens = TokenStore(ctx)
        self.limiter = QpsLimiter(qps_limit)
        self.faults = Faults()
        self.sessions: dict[str, Session] = {}
        self.files: dict[str, bytes] = {}
        self.media = MediaStore()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.endpoint = ""

    # -- acting as users -------------------------------------------------------------------
    def _new_session(self, space: tuple[str, str]) -> str:
        session = self.ctx.ids.hex(16)
        self.sessions[session] = Session(space, self.ctx.clock.now() + 90 * 60)
        return f"{self.endpoint}/robot/sendBySession?session={session}"

    async def user_message(
        self, user_id: str, conversation_id: str | None, body: dict[str, Any], shown: str
    ) -> str:
        """A user sends the bot a message (group @bot when conversation_id is given)."""
        if conversation_id is None:
            user, group = self.directory.user(user_id), None
            space, cid = ("user", user_id), private_conversation_id(user_id)
        else:
            user, group = self.directory.member(user_id, conversation_id)
            space, cid = ("group", conversation_id), conversation_id
        now_ms = self.ctx.clock.now_ms()
        at_users = None
        if group is not None:
            at_users = [{"dingtalkId": self.ctx.org.chatbot_user_id}] + [
                self.directory.users[m].at_entry()
                for m in group.members
                if m in self.directory.users and f"@{self.directory.users[m].nick}" in shown
            ]
        data = bot_message(
            self.ctx.org,
            user.sender(),
            msg_id=self.ctx.ids.msg_id(),
            conversation_id=cid,
            now_ms=now_ms,
            webhook=self._new_session(space),
            body=body,
            group_title=group.title if group else None,
            at_users=at_users,
        )
        self.views.add(
            space,
            {
                "kind": "message",
                "sender": user_id,
                "senderNick": user.nick,
                "msgtype": body["msgtype"],
                "body": body,
                "text": shown,
                "time": now_ms,
                "msgId": data["msgId"],
            },
        )
        return await self.gateway.push("CALLBACK", BOT_TOPIC, data)

    async def group_text(self, user_id: str, conversation_id: str, text: str) -> str:
        """A group message that @-mentions the bot; DingTalk strips the @bot, leaving a space."""
        body = {"msgtype": "text", "text": {"content": " " + text}}
        return await self.user_message(user_id, conversation_id, body, text)

    async def private_text(self, user_id: str, text: str) -> str:
        """A 1:1 text to the bot."""
        body = {"msgtype": "text", "text": {"content": text}}
        return await self.user_message(user_id, None, body, text)

    async def picture(self, user_id: str, conversation_id: str | None) -> str:
        """A picture to the bot; its downloadCode resolves through messageFiles/download."""
        code = self.ctx.ids.b64(30)
        self.files[code] = TINY_PNG
        body = {
            "msgtype": "picture",
            "content": {"pictureDownloadCode": code, "downloadCode": code},
        }
        return await self.user_message(user_id, conversation_id, body, "[图片]")

    async def click(
        self, user_id: str, out_track_id: str, params: dict[str, str], action_id: str
    ) -> dict[str, Any] | None:
        """A user presses a card button: Stream callback, ≤ 2 s ACK, response applied."""
        card = self.cards.cards.get(out_track_id)
        if card is None:
            raise ValueError(f"unknown card {out_track_id!r}")
        if card.callback_type != "STREAM":
            raise ValueError(f"card {out_track_id!r} has callbackType {card.callback_type!r}")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
            raise ValueError("card params must map strings to strings")
        space_id = self._space_seen_by(card, user_id)
        data = card_callback(
            self.ctx.org,
            user_id=user_id,
            out_track_id=out_track_id,
            space_id=space_id,
            space_type="im",
            user_id_type=card.user_id_type,
            action_id=action_id,
            params=params,
        )
        ack = await self.gateway.card_callback(CARD_TOPIC, data)
        if ack is None:
            return None
        return self._apply_card_ack(card, user_id, ack)

    def _space_seen_by(self, card: Card, user_id: str) -> str:
        self.directory.user(user_id)
        for space_type, space_id in card.spaces:
            group = self.directory.groups.get(space_id) if space_type == "IM_GROUP" else None
            if group is not None and user_id in group.members:
                return space_id
            if space_type == "IM_ROBOT" and space_id == user_id:
                return private_conversation_id(user_id)
        raise ValueError(f"user {user_id!r} cannot see card {card.out_track_id!r}")

    def _apply_card_ack(
        self, card: Card, user_id: str, ack: dict[str, Any]
    ) -> dict[str, Any] | None:
        try:
            response = json.loads(ack.get("data") or "null").get("response")
        except (AttributeError, TypeError, ValueError):
            return None
        if isinstance(response, dict) and ack.get("code") == 200:
            try:
                self.cards.apply_response(card, user_id, response)
            except ApiError:
                return response  # the real client would show an error; the card stays as it was
        return response if isinstance(response, dict) else None

    # -- OpenAPI operations ----------------------------------------------------------------
    def _robot(self, body: dict[str, Any]) -> None:
        if body.get("robotCode") != self.robot_code:
            raise bad_request(errors.ROBOT_CODE, "robotCode 无效或无权限")

    def batch_send(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1.0/robot/oToMessages/batchSend`."""
        self._robot(body)
        user_ids = require_str_list(body.get("userIds"), errors.INVALID_PARAMETER, "userIds")
        if not user_ids:
            raise bad_request(errors.USER_IDS_EMPTY, "userIds 不能为空")
        if len(user_ids) > MAX_BATCH_USERS:
            raise bad_request(errors.USER_IDS_OVER_MAX, "userIds 超过最大数量 20")
        param = self._parse_msg(body)
        key = self.ctx.ids.b64(24)
        invalid, limited = [], []
        for uid in user_ids:
            if uid not in self.directory.users:
                invalid.append(uid)
            elif self.faults.flow_controlled(uid):
                limited.append(uid)
                self.ctx.stats["flow_controlled"] += 1
            else:
                self.views.add(
                    ("user", uid),
                    robot_entry(
                        body["msgKey"],
                        param,
                        via="openapi",
                        now_ms=self.ctx.clock.now_ms(),
                        process_query_key=key,
                    ),
                )
        return {
            "processQueryKey": key,
            "invalidStaffIdList": invalid,
            "flowControlledStaffIdList": limited,
        }

    def group_send(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1.0/robot/groupMessages/send` (cannot @ anyone)."""
        self._robot(body)
        cid = body.get("openConversationId")
        if not isinstance(cid, str) or cid not in self.directory.groups:
            raise bad_request(errors.CONVERSATION, "openConversationId 无效")
        param = self._parse_msg(body)
        key = self.ctx.ids.b64(24)
        self.views.add(
            ("group", cid),
            robot_entry(
                body["msgKey"],
                param,
                via="openapi",
                now_ms=self.ctx.clock.now_ms(),
                process_query_key=key,
            ),
        )
        return {"processQueryKey": key}

    def recall(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1.0/robot/otoMessages/batchRecall` and `/v1.0/robot/groupMessages/recall`."""
        self._robot(body)
        keys = require_str_list(
            body.get("processQueryKeys"), errors.INVALID_PARAMETER, "processQueryKeys"
        )
        return recall_body(*self.views.recall(keys))

    def _parse_msg(self, body: dict[str, Any]) -> dict[str, Any]:
        param = parse_msg(body.get("msgKey"), body.get("msgParam"))
        for ref in media_refs(str(body.get("msgKey")), param):
            if self.media.get(ref) is None:
                raise bad_request(errors.MSG_PARAM, f"媒体文件 {ref!r} 不存在")
        return param

    def upload_media(
        self, token: str | None, media_type: str, part: tuple[str, str, bytes] | None
    ) -> dict[str, Any]:
        """`POST oapi /media/upload`: keep the file, answer its media_id (old-API body)."""
        from bot.simulators.dingtalk import media as m

        try:
            self.tokens.check(token)
        except ApiError:
            return m.error(m.INVALID_TOKEN, "不合法的access_token")
        if media_type not in m.MEDIA_TYPES:
            return m.error(m.INVALID_TYPE, "不合法的媒体文件类型")
        if part is None or not part[2]:
            return m.error(m.MISSING_MEDIA, "缺少多媒体文件数据")
        filename, content_type, data = part
        if len(data) > m.MAX_BYTES:
            return m.error(m.TOO_LARGE, "不合法的文件大小")
        media = Media("@lA" + self.ctx.ids.hex(12), media_type, filename, content_type, data)
        self.media.put(media)
        self.ctx.stats["media_uploaded"] += 1
        return m.ok(media, self.ctx.clock.now_ms())

    def download(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1.0/robot/messageFiles/download` → a local downloadUrl."""
        self._robot(body)
        code = body.get("downloadCode")
        if not isinstance(code, str) or code not in self.files:
            raise bad_request(errors.DOWNLOAD_CODE, "downloadCode 无效")
        return {"downloadUrl": f"{self.endpoint}/_sim/files/{self.files_key(code)}"}

    def files_key(self, code: str) -> str:
        """A URL-safe name for a stored file."""
        return code.replace("+", "-").replace("/", "_").rstrip("=")

    def file_by_key(self, key: str) -> bytes | None:
        """The file a downloadUrl points at."""
        for code, content in self.files.items():
            if self.files_key(code) == key:
                return content
        return None

    def create_card(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1.0/card/instances`."""
        card = self.cards.create(body)
        self.ctx.stats["card_param_non_string"] = self.cards.non_string_values
        return {"success": True, "result": card.out_track_id}

    def deliver_card(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1.0/card/instances/deliver`."""
        card = self.cards.get(body.get("outTrackId"))
        return {"success": True, "result": self._deliver(card, body)}

    def create_and_deliver(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1.0/card/instances/createAndDeliver`."""
        spaces = parse_spaces(body.get("openSpaceId"))  # validate before creating anything
        card = self.cards.create(body)
        self.ctx.stats["card_param_non_string"] = self.cards.non_string_values
        results = self._deliver(card, body, spaces)
        return {
            "success": True,
            "result": {"outTrackId": card.out_track_id, "deliverResults": results},
        }

    def update_card(self, body: dict[str, Any]) -> dict[str, Any]:
        """`PUT /v1.0/card/instances`."""
        self.cards.update(body)
        self.ctx.stats["card_param_non_string"] = self.cards.non_string_values
        return {"success": True, "result": True}

    def stream_card(self, body: dict[str, Any]) -> dict[str, Any]:
        """`PUT /v1.0/card/streaming`."""
        self.cards.stream(body)
        return {"success": True, "result": True}

    def _deliver(
        self, card: Card, body: dict[str, Any], spaces: list[tuple[str, str]] | None = None
    ) -> list[dict[str, Any]]:
        results = []
        for space_type, space_id in spaces or parse_spaces(body.get("openSpaceId")):
            error = self._deliver_one(card, body, space_type, space_id)
            results.append(
                {
                    "spaceType": space_type,
                    "spaceId": space_id,
                    "success": error == "",
                    "carrierId": self.ctx.ids.digits(12) if not error else "",
                    "errorMsg": error,
                }
            )
        return results

    def _deliver_one(self, card: Card, body: dict[str, Any], space_type: str, space_id: str) -> str:
        """Deliver to one space; returns "" or the errorMsg of its deliverResult."""
        if space_type == "IM_GROUP":
            model = body.get("imGroupOpenDeliverModel")
            if not isinstance(model, dict) or model.get("robotCode") != self.robot_code:
                return "imGroupOpenDeliverModel.robotCode 缺失或无效"
            if space_id not in self.directory.groups:
                return "群不存在或机器人不在群内"
            at = model.get("atUserIds") or {}
            entry = {
                "at_user_ids": [u for u in at if u != "@ALL"],
                "at_all": "@ALL" in at,
                "recipients": model.get("recipients"),
            }
            self._record_card(card, (space_type, space_id), ("group", space_id), entry)
            return ""
        if space_type == "IM_ROBOT":
            model = body.get("imRobotOpenDeliverModel")
            if not isinstance(model, dict):
                return "imRobotOpenDeliverModel 缺失"
            if model.get("robotCode") not in (None, self.robot_code):
                return "imRobotOpenDeliverModel.robotCode 无效"
            if space_id not in self.directory.users:
                return "用户不存在"
            self._record_card(card, (space_type, space_id), ("user", space_id), {})
            return ""
        return f"spaceType {space_type} 未在模拟器中实现"

    def _record_card(
        self, card: Card, space: tuple[str, str], view: tuple[str, str], extra: dict[str, Any]
    ) -> None:
        if space in card.spaces:
            return  # delivering again to the same chat does not post a second copy
        card.spaces.append(space)
        self.views.add(
            view,
            {
                "kind": "card",
                "sender": "robot",
                "outTrackId": card.out_track_id,
                "cardTemplateId": card.template_id,
                "time": self.ctx.clock.now_ms(),
                **extra,
            },
        )

    def session_send(self, session: str, body: Any) -> dict[str, Any]:
        """`POST /robot/sendBySession?session=…` (old-API errcode replies, HTTP 200)."""
        found = self.sessions.get(session)
        if found is None or found.expires_at <= self.ctx.clock.now():
            return {"errcode": errors.SESSION_MISSING, "errmsg": "session 不存在"}
        try:
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            msgtype, obj, at = parse_webhook_body(body)
        except ValueError as exc:
            return {"errcode": errors.WEBHOOK_BAD_BODY, "errmsg": f"不合法的参数: {exc}"}
        at_ids = [u for u in at.get("atUserIds") or [] if isinstance(u, str)]
        self.views.add(
            found.space,
            robot_entry(
                msgtype,
                obj,
                via="sessionWebhook",
                now_ms=self.ctx.clock.now_ms(),
                at_user_ids=at_ids,
                at_all=bool(at.get("isAtAll")),
            ),
        )
        return {"errcode": 0, "errmsg": "ok"}

    def clear_chats(self) -> None:
        """Forget every timeline, card and reply session; users and groups stay (sandbox 重置)."""
        self.views = Views(seq=self.views.seq)  # seq keeps growing: pages compare it
        self.cards = CardStore()
        self.sessions.clear()

    # -- what users see --------------------------------------------------------------------
    def timeline(self, space: tuple[str, str]) -> list[dict[str, Any]]:
        """A chat timeline; card entries carry the card's live state."""
        entries = self.views.timeline(space)
        for entry in entries:
            if entry["kind"] == "card":
                entry["card"] = self.cards.cards[entry["outTrackId"]].view()
        return entries

    def state(self) -> dict[str, Any]:
        """A summary for the sandbox page: directory, connections, counters."""
        stats = dict(self.ctx.stats)
        stats["qps_rejected"] = dict(stats["qps_rejected"])
        return {
            "now_ms": self.ctx.clock.now_ms(),
            "users": [
                {"user_id": u.user_id, "nick": u.nick} for u in self.directory.users.values()
            ],
            "groups": [
                {"conversation_id": g.conversation_id, "title": g.title, "members": g.members}
                for g in self.directory.groups.values()
            ],
            "connections": len(self.gateway.live()),
            "pending_unacked": len(self.gateway.pending),
            "stats": stats,
        }

    def card_view(self, out_track_id: str) -> dict[str, Any]:
        """The live state of a card, or ValueError."""
        card = self.cards.cards.get(out_track_id)
        if card is None:
            raise ValueError(f"unknown card {out_track_id!r}")
        return card.view()
