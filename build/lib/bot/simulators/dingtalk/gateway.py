"""The Stream gateway: connections/open tickets, the websocket, frames, ACKs, redelivery, ping,
disconnect (dingtalk.md §1)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.simulators.dingtalk import errors
from bot.simulators.dingtalk.errors import ApiError, bad_request, error_body
from bot.simulators.dingtalk.payloads import disconnect_frame, ping_frame, server_frame
from bot.simulators.dingtalk.support import TICKET_TTL, Context

log = logging.getLogger(__name__)

CARD_ACK_TIMEOUT = 2.0
CLOSE_TIMEOUT = 1.0
SUBSCRIPTION_TYPES = ("EVENT", "CALLBACK", "SYSTEM")


@dataclass
class Ticket:
    """A connections/open ticket: one websocket, within 90 s."""

    value: str
    subscriptions: frozenset[tuple[str, str]]
    expires_at: float
    used: bool = False


@dataclass
class Connection:
    """One live websocket of the client."""

    id: str
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    subscriptions: frozenset[tuple[str, str]]
    draining: bool = False  # a disconnect was sent: no new frames, ACKs still accepted
    close_at: float | None = None

    def wants(self, frame_type: str, topic: str) -> bool:
        """Whether this connection subscribed to frames of that type and topic."""
        if frame_type == "SYSTEM":
            return True
        if frame_type == "EVENT":
            return ("EVENT", "*") in self.subscriptions
        return (frame_type, topic) in self.subscriptions


@dataclass
class Pending:
    """A frame waiting for its ACK (redelivered, same messageId and data, until ACKed)."""

    message_id: str
    frame_type: str
    topic: str
    data: dict[str, Any]
    born_ms: int
    sent_at: float | None = None
    attempts: int = 0
    connections: list[str] = field(default_factory=list)


@dataclass
class Ping:
    """One SYSTEM ping and whether its echo came back right."""

    message_id: str
    connection_id: str
    opaque: str
    status: str = "pending"  # pending | ok | bad
    ack: dict[str, Any] | None = None


def _parse_subscriptions(value: Any) -> frozenset[tuple[str, str]]:
    if not isinstance(value, list) or not value:
        raise bad_request(errors.INVALID_PARAMETER, "subscriptions 不能为空")
    subs = set()
    for item in value:
        if not isinstance(item, dict) or item.get("type") not in SUBSCRIPTION_TYPES:
            raise bad_request(errors.INVALID_PARAMETER, f"无效的订阅 {item!r}")
        topic = item.get("topic")
        if not isinstance(topic, str) or not topic or (item["type"] == "EVENT" and topic != "*"):
            raise bad_request(errors.INVALID_PARAMETER, f"无效的订阅 topic {topic!r}")
        subs.add((item["type"], topic))
    return frozenset(subs)


class StreamGateway:
    """Tickets, live connections and the unacked-frame table of the one simulated app."""

    def __init__(
        self,
        ctx: Context,
        *,
        redelivery_delay: float,
        ping_interval: float | None,
        disconnect_grace: float,
    ) -> None:
        self.ctx = ctx
        self.redelivery_delay = redelivery_delay
        self.ping_interval = ping_interval
        self.disconnect_grace = disconnect_grace
        self.port = 0
        self.tickets: dict[str, Ticket] = {}
        self.conns: dict[str, Connection] = {}
        self.pending: dict[str, Pending] = {}
        self.pings: list[Ping] = []
        self.acks: deque[dict[str, Any]] = deque(maxlen=1000)
        self.sent: deque[dict[str, Any]] = deque(maxlen=1000)
        self._card_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._late_card_ids: set[str] = set()
        self._last_ping = ctx.clock.now()

    # -- registration ----------------------------------------------------------------------
    def open(self, body: dict[str, Any]) -> dict[str, str]:
        """`POST /v1.0/gateway/connections/open`: check credentials, issue a 90 s ticket."""
        if body.get("clientId") != self.ctx.client_id or (
            body.get("clientSecret") != self.ctx.client_secret
        ):
            raise ApiError(400, errors.INVALID_CLIENT, "无效的clientId或者clientSecret")
        subs = _parse_subscriptions(body.get("subscriptions"))
        ticket = Ticket(self.ctx.ids.uuid(), subs, self.ctx.clock.now() + TICKET_TTL)
        self.tickets[ticket.value] = ticket
        self.ctx.stats["tickets_issued"] += 1
        return {"endpoint": f"ws://127.0.0.1:{self.port}/connect", "ticket": ticket.value}

    def _check_ticket(self, value: str | None) -> Ticket | web.Response:
        """The ticket, or the handshake rejection: 401 unknown/missing, 403 used or expired."""
        ticket = self.tickets.get(value or "")
        if ticket is None:
            status, code, message = 401, "invalidTicket", "ticket 不存在"
        elif ticket.used:
            status, code, message = 403, "ticketUsed", "ticket 已被使用"
        elif ticket.expires_at <= self.ctx.clock.now():
            status, code, message = 403, "ticketExpired", "ticket 已过期"
        else:
            ticket.used = True
            return ticket
        self.ctx.stats["tickets_rejected"] += 1
        return web.json_response(error_body(code, message), status=status)

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        """`GET /connect?ticket=…`: the websocket of one connection."""
        ticket = self._check_ticket(request.query.get("ticket"))
        if isinstance(ticket, web.Response):
            return ticket
        # a short close timeout: stop() must not wait 10 s on a client that stopped reading
        ws = web.WebSocketResponse(autoping=True, timeout=CLOSE_TIMEOUT)
        await ws.prepare(request)
        conn = Connection(self.ctx.ids.uuid(), ws, request.transport, ticket.subscriptions)
        self.conns[conn.id] = conn
        await self._flush_undelivered()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.ctx.stats["bad_client_frames"] += 1
        finally:
            self.conns.pop(conn.id, None)
        return ws

    # -- sending ---------------------------------------------------------------------------
    def live(self, frame_type: str = "SYSTEM", topic: str = "") -> list[Connection]:
        """Open, non-draining connections subscribed to that frame type/topic."""
        return [
            c
            for c in self.conns.values()
            if not c.draining and not c.ws.closed and c.wants(frame_type, topic)
        ]

    async def _send(self, conn: Connection, frame: dict[str, Any] | str) -> bool:
        text = frame if isinstance(frame, str) else json.dumps(frame, ensure_ascii=False)
        try:
            await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            log.info("send to %s failed: %s", conn.id, exc)
            return False
        self.ctx.stats["frames_sent"] += 1
        self.sent.append({"connection_id": conn.id, "frame": frame})
        return True

    async def _deliver(self, pending: Pending) -> bool:
        """Send a pending frame to one random eligible connection."""
        candidates = self.live(pending.frame_type, pending.topic)
        if not candidates:
            return False
        conn = self.ctx.ids.rng.choice(candidates)
        frame = server_frame(
            pending.frame_type,
            pending.topic,
            pending.message_id,
            pending.data,
            app_id=self.ctx.app_id,
            connection_id=conn.id,
            now_ms=pending.born_ms,
        )
        if not await self._send(conn, frame):
            return False
        if pending.attempts:
            self.ctx.stats["redelivered"] += 1
        pending.attempts += 1
        pending.sent_at = self.ctx.clock.now()
        pending.connections.append(conn.id)
        return True

    async def push(self, frame_type: str, topic: str, data: dict[str, Any]) -> str:
        """Push a tracked frame (redelivered until ACKed); returns its messageId.

        With no subscribed connection the frame waits and goes out when one connects.
        """
        now_ms = self.ctx.clock.now_ms()
        pending = Pending(self.ctx.ids.message_id(now_ms), frame_type, topic, data, now_ms)
        self.pending[pending.message_id] = pending
        await self._deliver(pending)
        return pending.message_id

    async def _flush_undelivered(self) -> None:
        for pending in list(self.pending.values()):
            if pending.attempts == 0:
                await self._deliver(pending)

    async def redeliver_due(self) -> list[str]:
        """Redeliver every unacked frame older than `redelivery_delay` sim seconds."""
        now = self.ctx.clock.now()
        done = []
        for pending in list(self.pending.values()):
            due = pending.sent_at is None or now - pending.sent_at >= self.redelivery_delay
            if due and pending.message_id in self.pending and await self._deliver(pending):
                done.append(pending.message_id)
        return done

    async def push_raw(self, frame: dict[str, Any] | str) -> bool:
        """Send anything to one random live connection (malformed-frame tests)."""
        candidates = self.live()
        if not candidates:
            return False
        return await self._send(self.ctx.ids.rng.choice(candidates), frame)

    # -- card callbacks --------------------------------------------------------------------
    async def card_callback(self, topic: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """Send a card callback and wait ≤ 2 s for its ACK; no redelivery (the click failed)."""
        candidates = self.live("CALLBACK", topic)
        if not candidates:
            self.ctx.stats["card_callback_no_connection"] += 1
            return None
        now_ms = self.ctx.clock.now_ms()
        message_id = self.ctx.ids.message_id(now_ms)
        conn = self.ctx.ids.rng.choice(candidates)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._card_waiters[message_id] = waiter
        frame = server_frame(
            "CALLBACK",
            topic,
            message_id,
            data,
            app_id=self.ctx.app_id,
            connection_id=conn.id,
            now_ms=now_ms,
        )
        try:
            if not await self._send(conn, frame):
                return None
            return await asyncio.wait_for(waiter, CARD_ACK_TIMEOUT)
        except TimeoutError:
            self.ctx.stats["card_callback_timeouts"] += 1
            self._late_card_ids.add(message_id)
            return None
        finally:
            self._card_waiters.pop(message_id, None)

    # -- receiving -------------------------------------------------------------------------
    def _on_text(self, conn: Connection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("headers"), dict):
            self.ctx.stats["bad_client_frames"] += 1
            return
        message_id = msg["headers"].get("messageId")
        self.ctx.stats["acks"] += 1
        self.acks.append({"connection_id": conn.id, **msg})
        if not isinstance(msg.get("data"), str):
            self.ctx.stats["ack_data_not_string"] += 1
        if msg.get("code") != 200:
            self.ctx.stats["acks_non_200"] += 1
        self._match_ack(conn, message_id, msg)

    def _match_ack(self, conn: Connection, message_id: Any, msg: dict[str, Any]) -> None:
        # an ACK of any code counts as received: for bot messages the server ignores its data
        if message_id in self.pending:
            del self.pending[message_id]
        elif message_id in self._card_waiters:
            waiter = self._card_waiters[message_id]
            if not waiter.done():
                waiter.set_result(msg)
        elif message_id in self._late_card_ids:
            self.ctx.stats["late_card_acks"] += 1
        elif any(p.message_id == message_id for p in self.pings):
            self._check_ping(message_id, msg)
        elif message_id is None and conn.draining:
            self.ctx.stats["disconnect_acks"] += 1
        else:
            self.ctx.stats["unmatched_acks"] += 1

    def _check_ping(self, message_id: str, msg: dict[str, Any]) -> None:
        ping = next(p for p in self.pings if p.message_id == message_id)
        try:
            echoed = json.loads(msg.get("data") or "null")
        except (TypeError, ValueError):
            echoed = None
        ok = (
            msg.get("code") == 200
            and isinstance(echoed, dict)
            and echoed.get("opaque") == ping.opaque
        )
        ping.status, ping.ack = ("ok" if ok else "bad"), msg
        self.ctx.stats["ping_ok" if ok else "ping_bad"] += 1

    # -- system topics and connection control ----------------------------------------------
    async def ping_all(self) -> list[Ping]:
        """SYSTEM ping every live connection; results land in `pings` when the echoes arrive."""
        self._last_ping = self.ctx.clock.now()
        sent = []
        for conn in self.live():
            now_ms = self.ctx.clock.now_ms()
            ping = Ping(self.ctx.ids.message_id(now_ms), conn.id, f"{self.ctx.ids.hex(4)}-sim")
            self.pings.append(ping)
            if await self._send(conn, ping_frame(ping.message_id, ping.opaque, now_ms)):
                sent.append(ping)
        return sent

    async def disconnect_all(self, reason: str, grace: float | None = None) -> None:
        """SYSTEM disconnect to every live connection, then close each `grace` sim s later."""
        close_at = self.ctx.clock.now() + (self.disconnect_grace if grace is None else grace)
        for conn in self.live():
            await self._send(conn, disconnect_frame(reason, self.ctx.clock.now_ms()))
            conn.draining, conn.close_at = True, close_at
        await self.close_due()

    async def close_due(self) -> None:
        """Close draining connections whose grace period has passed."""
        now = self.ctx.clock.now()
        for conn in list(self.conns.values()):
            if conn.close_at is not None and conn.close_at <= now and not conn.ws.closed:
                await conn.ws.close(code=1000, message=b"disconnect")

    def drop_all(self) -> int:
        """Abort every TCP connection without a close frame."""
        dropped = 0
        for conn in list(self.conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
                dropped += 1
            self.conns.pop(conn.id, None)
        return dropped

    async def close_all(self) -> None:
        """Close every websocket (server shutdown)."""
        closing = [c.ws.close(code=1001, message=b"server shutdown") for c in self.conns.values()]
        await asyncio.gather(*closing, return_exceptions=True)

    async def tick(self) -> None:
        """Everything that is due at the current sim time."""
        await self.redeliver_due()
        await self.close_due()
        interval = self.ping_interval
        if interval is not None and self.ctx.clock.now() - self._last_ping >= interval:
            await self.ping_all()
