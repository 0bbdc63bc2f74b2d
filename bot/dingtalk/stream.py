"""`lianxin stream`: hold the DingTalk Stream connection; record every frame, then ACK it.

A subclass of the official SDK client (dingtalk-stream 0.24.3) keeps the SDK's frame and
handler model but replaces what does not fit a service (dingtalk.md §6):
- the connect loop: backoff with jitter, a watchdog that reconnects a silent socket, a
  clean stop on SIGTERM (the SDK's `start()` swallows cancellation and sleeps fixed times);
- `open_connection`: our configured endpoint and a timeout, run off the event loop;
- `get_host_ip`: the SDK opens a UDP socket towards a public address to learn it; not here;
- routing: malformed frames and unknown topics are answered per the protocol and logged
  instead of escaping the read loop, and pings are echoed without a warning each time.
Handlers only record the frame in the inbox (one insert, deduped) and return, so the ACK goes
out at once; the work runs in a worker. Several stream processes may run at once: DingTalk
gives each frame to one connection, and the inbox dedupes redeliveries across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import platform
import random
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import dingtalk_stream
import requests
import websockets
from dingtalk_stream import AckMessage, CallbackHandler, CallbackMessage
from dingtalk_stream.version import VERSION_STRING
from websockets.asyncio.client import ClientConnection

from bot.dingtalk import cards
from bot.dingtalk.events import (
    BOT_TOPIC,
    CARD_TOPIC,
    FrameError,
    card_basics,
    frame_record,
    parse_json_object,
)
from bot.pipeline.ingest import ingest
from bot.runtime import Runtime

log = logging.getLogger(__name__)

OPEN_PATH = "/v1.0/gateway/connections/open"
STATUS_BAD_REQUEST = 400  # a frame we cannot use: refused, so it is not pushed again
NO_ACK = object()  # a handler's "do not ACK": DingTalk pushes the message again (~60 s)
CARD_ACK_BUDGET = 1.5  # DingTalk waits 2 s for a card callback's answer (dingtalk.md §3)


@dataclass(frozen=True)
class StreamOptions:
    """Timing of the connection loop (seconds)."""

    ping_interval: float = 15.0  # websocket ping when nothing arrived for this long
    watchdog: float = 45.0  # no frame and no pong for this long: the socket is dead
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    stable_after: float = 60.0  # a connection that lived this long resets the backoff
    open_timeout: float = 10.0
    drain_timeout: float = 5.0  # finish in-flight frames (their ACKs) before closing
    stop_grace: float = 10.0  # after stop(), cancel whatever the loop still waits on
    ingest_threads: int = 4


def backoff_delay(failures: int, options: StreamOptions, rng: random.Random) -> float:
    """Exponential backoff with jitter: uniform(c/10, c), c = min(max, base·2^(n-1))."""
    ceiling = min(options.backoff_max, options.backoff_base * 2 ** max(failures - 1, 0))
    return rng.uniform(ceiling / 10, ceiling)


class _RecordingHandler(CallbackHandler):
    """Records a callback frame in the inbox, then lets the subclass answer at once."""

    def __init__(self, client: LianxinStreamClient) -> None:
        super().__init__()
        self.client = client

    async def raw_process(self, callback_message: CallbackMessage) -> AckMessage | None:
        """The SDK's ACK construction, except that a handler may decline to ACK."""
        code, response = await self.process(callback_message)
        if response is NO_ACK:
            return None
        ack = AckMessage()
        ack.code = code
        ack.headers.message_id = callback_message.headers.message_id
        ack.headers.content_type = "application/json"
        ack.data = {"response": response}
        return ack

    async def record(self, message: CallbackMessage) -> bool:
        """Insert the frame into the inbox (in a thread); False for a duplicate."""
        record = frame_record(message.headers.to_dict(), message.data)
        return await self.client.run_blocking(
            lambda: ingest(
                self.client.rt,
                source=record.source,
                key=record.key,
                payload=record.payload,
                conversation=record.conversation,
            )
        )


class BotMessageHandler(_RecordingHandler):
    """`/v1.0/im/bot/messages/get`: record, then ACK (DingTalk ignores the ACK's data)."""

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        """Record the message; without a durable record, no ACK (DingTalk will push it again)."""
        try:
            fresh = await self.record(message)
        except FrameError as exc:
            log.warning("bot message %s refused: %s", message.headers.message_id, exc)
            return STATUS_BAD_REQUEST, None
        except Exception:
            log.exception("bot message %s not recorded; not acking", message.headers.message_id)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, NO_ACK
        log.info(
            "bot message %s recorded%s", message.headers.message_id, "" if fresh else " (duplicate)"
        )
        return AckMessage.STATUS_OK, None


class CardCallbackHandler(_RecordingHandler):
    """`/v1.0/card/instances/callback`: record, then answer within 2 s with 「处理中…」."""

    async def process(self, message: CallbackMessage) -> tuple[int, Any]:
        """Record the click; the ACK's card update shows it is being handled."""
        recording = asyncio.ensure_future(self.record(message))
        try:
            await asyncio.wait_for(asyncio.shield(recording), CARD_ACK_BUDGET)
        except TimeoutError:
            # a slow database must not make DingTalk show the click as failed: answer in time
            # without changing the card; the insert goes on, and its job refreshes the card
            log.warning(
                "card callback %s still recording; acked without an update",
                message.headers.message_id,
            )
            recording.add_done_callback(_log_late_failure)
            return AckMessage.STATUS_OK, None
        except FrameError as exc:
            log.warning("card callback %s refused: %s", message.headers.message_id, exc)
            return STATUS_BAD_REQUEST, None
        except Exception:
            log.exception("card callback %s not recorded", message.headers.message_id)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, None
        return AckMessage.STATUS_OK, _busy_for(message.data)


def _busy_for(data: Any) -> dict[str, Any]:
    """The ACK's card update: 「处理中…」 on a case card, 「提交中…」 on a solicitation card."""
    try:
        raw = data if isinstance(data, dict) else parse_json_object(data, "data")
        _, _, params = card_basics(raw)
    except FrameError:
        return cards.busy_response()
    if params.get("kind") == "solicit":
        from handlers.duties.card_texts import busy_params

        return {
            "cardData": {"cardParamMap": busy_params()},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        }
    return cards.busy_response()


def _log_late_failure(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("late card callback not recorded: %r", fut.exception())


class LianxinStreamClient(dingtalk_stream.DingTalkStreamClient):
    """The SDK's Stream client with our connect loop, routing and endpoint."""

    def __init__(self, rt: Runtime, options: StreamOptions | None = None) -> None:
        s = rt.settings.dingtalk
        credential = dingtalk_stream.Credential(s.client_id, s.client_secret.get_secret_value())
        super().__init__(credential, logger=log)
        self.rt = rt
        self.options = options or StreamOptions()
        self.open_url = s.openapi_endpoint.rstrip("/") + OPEN_PATH
        self.timeout = s.timeout_seconds
        self.connects = 0  # successful websocket handshakes (tests and logs)
        self._rng = random.Random()
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._last_activity = time.monotonic()
        self.register_callback_handler(BOT_TOPIC, BotMessageHandler(self))
        self.register_callback_handler(CARD_TOPIC, CardCallbackHandler(self))

    # -- SDK overrides -----------------------------------------------------------------------
    def get_host_ip(self) -> str:
        """No local-IP probe: the SDK's opens a UDP socket towards a public address."""
        return ""

    def open_connection(self) -> dict[str, Any] | None:
        """POST connections/open on our endpoint, with a timeout; None when it failed."""
        body = {
            "clientId": self.credential.client_id,
            "clientSecret": self.credential.client_secret,
            "subscriptions": [{"type": "CALLBACK", "topic": t} for t in self.callback_handler_map],
            "ua": f"dingtalk-sdk-python/v{VERSION_STRING}-union",
            "localIp": self.get_host_ip(),
        }
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": (
                f"DingTalkStream/1.0 SDK/{VERSION_STRING} "
                f"Python/{platform.python_version()} (lianxin)"
            ),
        }
        try:
            resp = requests.post(self.open_url, json=body, headers=headers, timeout=self.timeout)
            data = resp.json() if resp.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            log.warning("connections/open failed: %s", exc)
            return None
        if not isinstance(data, dict) or not data.get("endpoint") or not data.get("ticket"):
            log.warning("connections/open refused: HTTP %s %s", resp.status_code, resp.text[:300])
            return None
        return data

    async def start(self) -> None:
        """Run until `stop()` (the SDK's loop cannot be stopped; this one can)."""
        await self.run()

    # -- lifecycle ---------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the client to finish in-flight frames, close the socket and return (any thread)."""
        self._stop_requested = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                loop.call_soon_threadsafe(self._begin_stop, loop, stop)

    def _begin_stop(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
        stop.set()
        # a stop must not depend on every await below noticing the event (a connections/open
        # or a handshake under way on a starved machine): after a grace period, cancel the run
        loop.call_later(self.options.stop_grace, self._force_stop)

    def _force_stop(self) -> None:
        task = self._task
        if task is not None and not task.done():
            log.warning("stream did not stop within %.0fs; cancelling", self.options.stop_grace)
            task.cancel()

    async def run(self) -> None:
        """Connect, serve, and reconnect with backoff until stopped."""
        self.pre_start()
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._stop = asyncio.Event()
        self._executor = ThreadPoolExecutor(self.options.ingest_threads, "dingtalk-ingest")
        if self._stop_requested:
            self._stop.set()
        failures = 0
        try:
            while not self._stop.is_set():
                began = time.monotonic()
                outcome = await self._connect_and_serve()
                if self._stop.is_set():
                    break
                if outcome == "disconnect":
                    failures, delay = 0, self._rng.uniform(0, 0.5)  # scheduled: come back at once
                else:
                    lived = time.monotonic() - began
                    failures = 1 if lived >= self.options.stable_after else failures + 1
                    delay = backoff_delay(failures, self.options, self._rng)
                log.info("stream %s; reconnecting in %.1fs", outcome, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        except asyncio.CancelledError:
            if not self._stop_requested:
                raise
            # _force_stop: stopping is what was asked, so the run ends normally
        finally:
            self._loop = None
            self._task = None
            # in-flight frames had `drain_timeout` to finish in _serve; a straggler (an insert
            # stuck on a slow database) must not keep the process from stopping: its frame was
            # not ACKed, so DingTalk sends it again and the inbox dedupes it
            self._executor.shutdown(wait=False, cancel_futures=True)
        log.info("stream stopped")

    async def run_blocking(self, fn: Callable[[], Any]) -> Any:
        """Run blocking work (a database insert) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    # -- one connection ----------------------------------------------------------------------
    async def _connect_and_serve(self) -> str:
        conn = await self.run_blocking(self.open_connection)
        if conn is None:
            return "open failed"
        uri = f"{conn['endpoint']}?ticket={quote_plus(conn['ticket'])}"
        try:
            async with websockets.connect(
                uri,
                open_timeout=self.options.open_timeout,
                ping_interval=None,  # our watchdog pings and judges liveness
                close_timeout=2,
                proxy=None,
                max_size=4 * 1024 * 1024,
            ) as ws:
                self.websocket = ws
                self.connects += 1
                log.info("stream connected (%d)", self.connects)
                return await self._serve(ws)
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            log.warning("stream connection failed: %s", exc)
            return "connection lost"

    async def _serve(self, ws: ClientConnection) -> str:
        assert self._stop is not None
        inflight: set[asyncio.Task[None]] = set()
        self._last_activity = time.monotonic()
        reader = asyncio.create_task(self._read(ws, inflight))
        watchdog = asyncio.create_task(self._watchdog(ws))
        stopper = asyncio.create_task(self._stop.wait())
        done, pending = await asyncio.wait(
            {reader, watchdog, stopper}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if inflight:  # their ACKs belong on this socket
            await asyncio.wait(inflight, timeout=self.options.drain_timeout)
        lost = reader.exception() if reader.done() and not reader.cancelled() else None
        if stopper in done:
            await ws.close(1000, "client stopping")
            return "stopped"
        if watchdog in done:
            return "silent"
        if lost is not None:
            return f"connection lost ({lost.__class__.__name__})"
        return reader.result()

    async def _read(self, ws: ClientConnection, inflight: set[asyncio.Task[None]]) -> str:
        async for raw in ws:
            self._last_activity = time.monotonic()
            if self._is_disconnect(raw):
                log.info("server asked to reconnect: %s", str(raw)[:200])
                return "disconnect"
            task = asyncio.create_task(self._on_frame(ws, raw))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        return "closed by server"

    async def _watchdog(self, ws: ClientConnection) -> None:
        opts = self.options
        while True:
            await asyncio.sleep(min(opts.ping_interval, opts.watchdog) / 3)
            idle = time.monotonic() - self._last_activity
            if idle > opts.watchdog:
                log.warning("no frame or pong for %.1fs: dropping the silent socket", idle)
                ws.transport.abort()
                return
            if idle >= opts.ping_interval:
                with contextlib.suppress(Exception):
                    pong = await asyncio.wait_for(ws.ping(), 1.0)
                    asyncio.ensure_future(pong).add_done_callback(self._on_pong)

    def _on_pong(self, fut: asyncio.Future[Any]) -> None:
        if not fut.cancelled() and fut.exception() is None:
            self._last_activity = time.monotonic()

    # -- frames ------------------------------------------------------------------------------
    @staticmethod
    def _is_disconnect(raw: Any) -> bool:
        try:
            frame = json.loads(raw)
        except (TypeError, ValueError):
            return False
        return (
            isinstance(frame, dict)
            and frame.get("type") == "SYSTEM"
            and isinstance(frame.get("headers"), dict)
            and frame["headers"].get("topic") == "disconnect"
        )

    async def _on_frame(self, ws: ClientConnection, raw: Any) -> None:
        try:
            ack = await self.route_frame(raw)
        except Exception:  # nothing a frame contains may end the stream
            log.exception("frame handling failed: %s", str(raw)[:300])
            return
        if ack is None:
            return
        try:
            await ws.send(json.dumps(ack))
        except websockets.ConnectionClosed:
            log.info(
                "ACK %s not sent: socket closed (DingTalk will push it again)",
                ack["headers"].get("messageId"),
            )

    async def route_frame(self, raw: Any) -> dict[str, Any] | None:
        """The ACK for one server frame (None: nothing can or should be sent)."""
        try:
            frame = json.loads(raw)
        except (TypeError, ValueError):
            log.warning("frame is not JSON; ignored: %s", str(raw)[:300])
            return None
        headers = frame.get("headers") if isinstance(frame, dict) else None
        if not isinstance(headers, dict) or not headers.get("messageId"):
            log.warning(
                "frame without headers.messageId cannot be acked; ignored: %s", str(raw)[:300]
            )
            return None
        kind, topic = frame.get("type"), headers.get("topic")
        if kind == "SYSTEM":
            return _ack(headers, 200, "OK", frame.get("data"))  # ping: echo the opaque as is
        if kind == "EVENT":
            log.info("event %s not subscribed; acknowledged", headers.get("eventType") or topic)
            return _ack(headers, 200, "OK", json.dumps({"status": "SUCCESS", "message": "ignored"}))
        handler = self.callback_handler_map.get(topic) if kind == "CALLBACK" else None
        if handler is None:
            log.warning("frame type %r topic %r not supported; refused", kind, topic)
            return _ack(headers, AckMessage.STATUS_NOT_IMPLEMENT, "topic not supported", "{}")
        try:
            message = CallbackMessage.from_dict(frame)
        except (TypeError, ValueError) as exc:
            log.warning("callback %s has unreadable data (%s); refused", headers["messageId"], exc)
            return _ack(headers, STATUS_BAD_REQUEST, "bad data", json.dumps({"response": None}))
        ack = await handler.raw_process(message)
        return ack.to_dict() if ack is not None else None


def _ack(headers: dict[str, Any], code: int, message: str, data: Any) -> dict[str, Any]:
    return {
        "code": code,
        "headers": {"contentType": "application/json", "messageId": headers["messageId"]},
        "message": message,
        "data": data if isinstance(data, str) else json.dumps(data),
    }


def run_stream(rt: Runtime, options: StreamOptions | None = None) -> int:
    """Hold the Stream connection until SIGTERM/SIGINT; the `lianxin stream` command."""
    if not rt.settings.dingtalk.configured:
        log.error("[dingtalk] client_id and client_secret are required for the stream")
        return 2
    client = LianxinStreamClient(rt, options)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, client.stop)
        await client.run()

    asyncio.run(main())
    return 0
