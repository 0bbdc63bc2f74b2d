"""`DingTalkSimulator`: the simulated server in its own thread and loop, and its Python API."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from bot.simulators.dingtalk.core import SimCore
from bot.simulators.dingtalk.gateway import StreamGateway
from bot.simulators.dingtalk.http import SimApp
from bot.simulators.dingtalk.messages import dtmd_links
from bot.simulators.dingtalk.payloads import Ids, Org, encrypted_id
from bot.simulators.dingtalk.support import Context, Group, Injection, SimClock, User

T = TypeVar("T")
CALL_TIMEOUT = 10.0


def _norm(path: str) -> str:
    return "/" + path.split("?", 1)[0].lstrip("/")


class DingTalkSimulator:
    """A local DingTalk server (Stream gateway + OpenAPI + sessionWebhook) for one app."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        robot_code: str | None = None,
        clock: Callable[[], float] = time.time,
        redelivery_delay: float = 60.0,
        ping_interval: float | None = None,
        qps_limit: int = 20,
        disconnect_grace: float = 10.0,
        seed: int | None = None,
        tick_interval: float = 0.2,
    ) -> None:
        ids = Ids(seed)
        code = robot_code or client_id
        org = Org("ding" + ids.hex(8), code, encrypted_id("bot", code))
        ctx = Context(client_id, client_secret, SimClock(clock), ids, org, app_id=ids.uuid())
        gateway = StreamGateway(
            ctx,
            redelivery_delay=redelivery_delay,
            ping_interval=ping_interval,
            disconnect_grace=disconnect_grace,
        )
        self._core = SimCore(ctx, gateway, robot_code=code, qps_limit=qps_limit)
        self._tick_interval = tick_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.calls: list[tuple[str, str, dict[str, Any]]] = self._core.calls
        self.stats: dict[str, Any] = ctx.stats

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        """`http://127.0.0.1:PORT`, the OpenAPI base (and sessionWebhook / websocket host)."""
        if not self._core.endpoint:
            raise RuntimeError("start() the simulator first")
        return self._core.endpoint

    @property
    def robot_code(self) -> str:
        """The robotCode the OpenAPI expects (defaults to the clientId)."""
        return self._core.robot_code

    def start(self) -> None:
        """Bind 127.0.0.1:0 and serve from a daemon thread with its own event loop."""
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="dingtalk-sim", daemon=True
        )
        self._thread.start()
        ready.wait(CALL_TIMEOUT)
        if failure:
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CALL_TIMEOUT)
        self._thread = self._loop = None
        self._core.endpoint = ""

    def __enter__(self) -> DingTalkSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # report any startup failure to start()
            failure.append(exc)
            ready.set()
            loop.close()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._cleanup())
            loop.close()

    async def _startup(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self._core.endpoint = f"http://127.0.0.1:{port}"
        self._core.gateway.port = port
        self._runner = web.AppRunner(
            SimApp(self._core).build(), access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._ticker = asyncio.create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self._tick_interval)
            await self._core.gateway.tick()

    async def _cleanup(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        await self._core.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- running things on the simulator's loop --------------------------------------------
    def _sync(self, fn: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or threading.current_thread() is self._thread:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(CALL_TIMEOUT)

    def _async(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("start() the simulator first")
        if threading.current_thread() is self._thread:
            raise RuntimeError("blocking simulator call from the simulator's own thread")
        return asyncio.run_coroutine_threadsafe(make(), loop).result(CALL_TIMEOUT)

    # -- clock -----------------------------------------------------------------------------
    def advance(self, seconds: float) -> None:
        """Move the sim clock (token, ticket, sessionWebhook, redelivery and close timers)."""
        self._sync(lambda: self._core.ctx.clock.advance(seconds))

    def now_ms(self) -> int:
        """Current sim time in ms."""
        return self._core.ctx.clock.now_ms()

    def redeliver_due(self) -> list[str]:
        """Redeliver unacked frames older than redelivery_delay now; returns their messageIds."""
        return self._async(self._core.gateway.redeliver_due)

    def tick(self) -> None:
        """Run everything due at the current sim time (redelivery, delayed closes, pings)."""
        self._async(self._core.gateway.tick)

    # -- directory -------------------------------------------------------------------------
    def add_user(self, user_id: str, nick: str, *, admin: bool = False) -> None:
        """Add a member of the fake org (user_id is the staffId)."""
        self._sync(
            lambda: self._core.directory.users.__setitem__(user_id, User(user_id, nick, admin))
        )

    def add_group(self, conversation_id: str, title: str, members: list[str]) -> None:
        """Add a group chat with the bot in it; members must be known users."""

        def add() -> None:
            for member in members:
                self._core.directory.user(member)
            group = Group(conversation_id, title, list(members))
            self._core.directory.groups[conversation_id] = group

        self._sync(add)

    # -- acting as users -------------------------------------------------------------------
    def user_sends_group_text(self, user_id: str, conversation_id: str, text: str) -> str:
        """A group message @bot; returns the pushed frame's messageId."""
        return self._async(lambda: self._core.group_text(user_id, conversation_id, text))

    def user_sends_private_text(self, user_id: str, text: str) -> str:
        """A 1:1 message to the bot; returns the pushed frame's messageId."""
        return self._async(lambda: self._core.private_text(user_id, text))

    def user_sends_picture(self, user_id: str, conversation_id: str | None = None) -> str:
        """A picture to the bot (1:1, or @bot in a group); returns the frame's messageId."""
        return self._async(lambda: self._core.picture(user_id, conversation_id))

    def user_clicks(
        self, user_id: str, out_track_id: str, params: dict[str, str], action_id: str = "btn"
    ) -> dict[str, Any] | None:
        """Press a card button; returns the ACK's `response` (applied to the card) or None."""
        return self._async(lambda: self._core.click(user_id, out_track_id, params, action_id))

    def user_taps_link(self, user_id: str, label: str, conversation_id: str | None = None) -> str:
        """Tap the dtmd link `label` in the newest robot markdown message of the user's 1:1 chat
        (or of a group) that has one: the client sends the link's text to the bot (§7).
        Returns the pushed frame's messageId; LookupError when no such link is shown."""
        space = ("group", conversation_id) if conversation_id else ("user", user_id)
        view = self._sync(lambda: self._core.timeline(space))
        for entry in reversed(view):
            command = dtmd_links(entry).get(label)
            if command is not None:
                if conversation_id:
                    return self.user_sends_group_text(user_id, conversation_id, command)
                return self.user_sends_private_text(user_id, command)
        raise LookupError(f"no link {label!r} in a robot markdown message of {space}")

    def push_raw_frame(self, frame: dict[str, Any] | str) -> None:
        """Send any frame, as is, to one random live connection."""
        self._async(lambda: self._core.gateway.push_raw(frame))

    # -- what users see --------------------------------------------------------------------
    def group_view(self, conversation_id: str) -> list[dict[str, Any]]:
        """The group's timeline: user messages, robot messages, cards (with live state)."""
        return self._sync(lambda: self._core.timeline(("group", conversation_id)))

    def private_view(self, user_id: str) -> list[dict[str, Any]]:
        """The user's 1:1 chat with the bot: their messages, robot messages and cards."""
        return self._sync(lambda: self._core.timeline(("user", user_id)))

    def media(self, media_id: str) -> bytes | None:
        """The bytes uploaded as `media_id` (None if never uploaded)."""

        def get() -> bytes | None:
            found = self._core.media.get(media_id)
            return found.data if found is not None else None

        return self._sync(get)

    def card(self, out_track_id: str) -> dict[str, Any]:
        """A card's live state: cardParamMap, privateData per user, spaces, version."""
        return self._sync(lambda: self._core.card_view(out_track_id))

    def state(self) -> dict[str, Any]:
        """Directory, connection count, unacked count and counters."""
        return self._sync(self._core.state)

    # -- protocol controls -----------------------------------------------------------------
    def disconnect_all(
        self, reason: str = "connection is expired", close_after: float | None = None
    ) -> None:
        """SYSTEM disconnect to every connection, then close it `close_after` sim s later (10)."""
        self._async(lambda: self._core.gateway.disconnect_all(reason, close_after))

    def drop_connections(self) -> None:
        """Abort every TCP connection without a close frame."""
        self._sync(self._core.gateway.drop_all)

    def ping_all(self) -> None:
        """SYSTEM ping with a fresh opaque to every connection; see `pings` for the echoes."""
        self._async(self._core.gateway.ping_all)

    @property
    def pings(self) -> list[dict[str, Any]]:
        """Every ping sent: messageId, connection_id, opaque, status (pending / ok / bad)."""
        return self._sync(lambda: [dataclasses.asdict(p) for p in self._core.gateway.pings])

    @property
    def acks(self) -> list[dict[str, Any]]:
        """The last 1000 frames received from clients (ACKs), with their connection_id."""
        return self._sync(lambda: list(self._core.gateway.acks))

    @property
    def sent_frames(self) -> list[dict[str, Any]]:
        """The last 1000 frames sent to clients: {connection_id, frame}."""
        return self._sync(lambda: list(self._core.gateway.sent))

    def connections(self) -> int:
        """Live (open, not draining) connection count."""
        return self._sync(lambda: len(self._core.gateway.live()))

    def connection_ids(self) -> list[str]:
        """Ids of live connections (the frames' headers.connectionId)."""
        return self._sync(lambda: [c.id for c in self._core.gateway.live()])

    def pending_unacked(self) -> int:
        """Frames pushed (bot messages) that no ACK has answered yet."""
        return self._sync(lambda: len(self._core.gateway.pending))

    def wait_connections(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until at least `count` connections are live (real time); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connections() >= count:
                return True
            time.sleep(0.01)
        return False

    def inject(self, path: str, status: int, body: dict[str, Any], times: int = 1) -> None:
        """The next `times` calls to an OpenAPI path answer `status` with `body`."""
        injection = Injection(status, body, times)
        self._sync(lambda: self._core.faults.injections[_norm(path)].append(injection))

    def set_latency(self, path: str, seconds: float, *, abandon_if_gone: bool = False) -> None:
        """Delay every call to a path by `seconds` (real time) before processing it.

        With `abandon_if_gone`, a call whose client disconnected during the delay is dropped
        unprocessed (counted in `stats["abandoned_requests"]`), like a gateway that never
        forwards a request its client abandoned; by default it is processed anyway.
        """

        def apply() -> None:
            self._core.faults.latency[_norm(path)] = seconds
            if abandon_if_gone:
                self._core.faults.abandon.add(_norm(path))
            else:
                self._core.faults.abandon.discard(_norm(path))

        self._sync(apply)

    def freeze(self, seconds: float) -> None:
        """Stop answering anything for `seconds` (real time), returning at once: sockets stay
        open but go silent (no frames, no pongs, no HTTP answers), as on a dead network path."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("start() the simulator first")
        loop.call_soon_threadsafe(time.sleep, seconds)

    def flow_control(self, user_id: str, times: int = 1) -> None:
        """The user's next `times` batchSend deliveries land in flowControlledStaffIdList."""
        self._sync(lambda: self._core.faults.flow_control.__setitem__(user_id, times))

    def expire_tokens(self) -> None:
        """Invalidate every accessToken now."""
        self._sync(self._core.tokens.expire_all)
