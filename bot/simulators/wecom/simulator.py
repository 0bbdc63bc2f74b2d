"""The WeCom simulator: a real local HTTP server imitating qyapi's /cgi-bin/ plus callbacks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import xmltodict
from werkzeug.serving import BaseWSGIServer, make_server

from bot.simulators.wecom.agent import AgentState
from bot.simulators.wecom.api import ApiRequest, ApiResponse, CgiBinApi
from bot.simulators.wecom.callbacks import CallbackDelivery, CallbackSender
from bot.simulators.wecom.crypto import CallbackCrypto
from bot.simulators.wecom.inbound import (
    kf_msg_or_event_xml,
    member_text_xml,
    template_card_event_xml,
)
from bot.simulators.wecom.kf import KfState
from bot.simulators.wecom.support import (
    TINY_AMR,
    TINY_PNG,
    FaultPlan,
    MediaStore,
    SimClock,
    TokenStore,
)


class WeComSimulator:
    """A local WeCom server: REST API under /cgi-bin/, encrypted callbacks, control under /_sim/.

    Callbacks are sent by one background worker, in order. `wait=True` on an acting method (or
    `wait_callbacks=True` for all of them) returns only after that callback's round trip,
    retries included; `flush()` waits for everything queued.
    """

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        agent_id: int,
        token: str,
        encoding_aes_key: str,
        open_kfid: str,
        callback_url: str | None = None,
        clock: Callable[[], float] = time.time,
        callback_timeout: float = 5.0,
        callback_retries: int = 3,
        members: Iterable[str] | None = None,
        wait_callbacks: bool = False,
    ) -> None:
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.open_kfid = open_kfid
        self.callback_url = callback_url
        self.wait_callbacks = wait_callbacks
        self.clock = SimClock(clock)
        self.crypto = CallbackCrypto(token, encoding_aes_key, corp_id)
        self.tokens = TokenStore(self.clock, corp_id, secret)
        self.media = MediaStore(self.clock)
        self.faults = FaultPlan()
        self.kf = KfState(self.clock, open_kfid, self.media)
        self.agent = AgentState(self.clock, agent_id, members)
        self.sender = CallbackSender(
            self.crypto,
            agent_id=agent_id,
            clock=self.clock,
            timeout=callback_timeout,
            retries=callback_retries,
        )
        self._lock = threading.RLock()
        self.api = CgiBinApi(
            lock=self._lock,
            tokens=self.tokens,
            media=self.media,
            faults=self.faults,
            kf=self.kf,
            agent=self.agent,
        )
        self.calls: list[tuple[str, dict[str, Any]]] = self.api.calls  # (path, JSON body)
        self.deliveries: list[CallbackDelivery] = []
        self.last_verification: tuple[str, str] | None = None
        self.base_url = ""
        self.sim_url = ""
        self._pending: list[Future[CallbackDelivery]] = []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._coalescing = 0  # > 0 inside coalesce(): kf actions wait for one callback
        self._coalesced = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Serve on 127.0.0.1 with an ephemeral port, in a daemon thread."""
        from bot.simulators.wecom.server import create_app

        if self._server is not None:
            return
        self._server = make_server("127.0.0.1", 0, create_app(self), threaded=True)
        port = self._server.server_port
        self.base_url = f"http://127.0.0.1:{port}/cgi-bin/"
        self.sim_url = f"http://127.0.0.1:{port}/_sim/"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wecom-sim-cb")
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns quickly
            name="wecom-sim",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and drop callbacks still queued."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._server = self._thread = self._executor = None

    def __enter__(self) -> WeComSimulator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- clock and faults --------------------------------------------------------------------

    def now(self) -> float:
        """Simulator time (epoch seconds)."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the simulator clock forward (token expiry, quotas, 20 s codes...)."""
        self.clock.advance(seconds)

    def inject(self, path: str, errcode: int, times: int = 1) -> None:
        """The next `times` calls to cgi-bin/<path> answer this errcode (HTTP 200)."""
        self.faults.inject_errcode(path, errcode, times)

    def inject_http_status(self, path: str, status: int, times: int = 1) -> None:
        """The next `times` calls to cgi-bin/<path> answer a bare HTTP status (e.g. 502)."""
        self.faults.inject_status(path, status, times)

    def set_latency(self, path: str, seconds: float) -> None:
        """Sleep this long before processing each call to cgi-bin/<path> (0 to clear)."""
        self.faults.set_latency(path, seconds)

    def expire_tokens(self) -> None:
        """Invalidate every issued access_token; their next use answers 42001."""
        with self._lock:
            self.tokens.expire_all()

    # -- a WeChat user talking to the kf account ---------------------------------------------

    @contextmanager
    def coalesce(self, *, wait: bool | None = None) -> Iterator[None]:
        """Customer actions inside the block share one kf_msg_or_event callback, sent on exit.

        WeCom does this when messages arrive faster than its callbacks: the next sync_msg
        pull then returns them all in one page (e.g. enter_session and the text typed at once).
        """
        with self._lock:
            self._coalescing += 1
        try:
            yield
        finally:
            with self._lock:
                self._coalescing -= 1
                send = self._coalescing == 0 and self._coalesced
                if send:
                    self._coalesced = False
                    inner = self._kf_callback_xml()
            if send:
                self._callback("kf_msg_or_event", inner, wait)

    def _kf_callback(self, inner: str, wait: bool | None) -> None:
        with self._lock:
            if self._coalescing:
                self._coalesced = True
                return
        self._callback("kf_msg_or_event", inner, wait)

    def user_enter(
        self,
        external_userid: str,
        scene: str = "",
        scene_param: str = "",
        *,
        wait: bool | None = None,
    ) -> str:
        """The user opens the kf chat; returns the welcome_code, or "" when not eligible.

        `scene` may also be a kf/add_contact_way URL (optionally with `&scene_param=`).
        """
        self._ensure_started()
        with self._lock:
            if scene.startswith(("http://", "https://")):
                scene, url_param = self.kf.decode_contact_url(scene)
                scene_param = scene_param or url_param
            if len(scene_param.encode("utf-8")) > 128:
                raise ValueError("scene_param longer than 128 bytes")
            message = self.kf.record_enter(external_userid, scene, scene_param)
            inner = self._kf_callback_xml()
        self._kf_callback(inner, wait)
        return str(message["event"].get("welcome_code", ""))

    def user_text(
        self,
        external_userid: str,
        text: str,
        menu_id: str | None = None,
        *,
        wait: bool | None = None,
    ) -> str:
        """The user sends text (menu_id set when it came from a msgmenu click); returns msgid."""
        payload: dict[str, Any] = {"content": text}
        if menu_id:
            payload["menu_id"] = menu_id
        return self._customer_says(external_userid, "text", payload, wait)

    def user_click_menu(
        self, external_userid: str, menu_id: str, *, wait: bool | None = None
    ) -> str:
        """The user taps a click item of a msgmenu they were shown; returns msgid."""
        with self._lock:
            content = self.kf.find_menu_item(external_userid, menu_id)
        return self.user_text(external_userid, content, menu_id, wait=wait)

    def user_image(
        self, external_userid: str, data: bytes = TINY_PNG, *, wait: bool | None = None
    ) -> str:
        """The user sends a picture (stored as media); returns msgid."""
        with self._lock:
            media = self.media.put("image", data)
        return self._customer_says(external_userid, "image", {"media_id": media.media_id}, wait)

    def user_voice(
        self, external_userid: str, data: bytes = TINY_AMR, *, wait: bool | None = None
    ) -> str:
        """The user sends a voice note (AMR media); returns msgid."""
        with self._lock:
            media = self.media.put("voice", data)
        return self._customer_says(external_userid, "voice", {"media_id": media.media_id}, wait)

    def user_location(
        self,
        external_userid: str,
        lat: float,
        lng: float,
        name: str = "",
        address: str = "",
        *,
        wait: bool | None = None,
    ) -> str:
        """The user shares a location; returns msgid."""
        payload = {"latitude": lat, "longitude": lng, "name": name, "address": address}
        return self._customer_says(external_userid, "location", payload, wait)

    def _customer_says(
        self, external_userid: str, msgtype: str, payload: dict[str, Any], wait: bool | None
    ) -> str:
        self._ensure_started()
        with self._lock:
            message = self.kf.record_customer_message(external_userid, msgtype, payload)
            inner = self._kf_callback_xml()
        self._kf_callback(inner, wait)
        return str(message["msgid"])

    def _kf_callback_xml(self) -> str:
        return kf_msg_or_event_xml(
            corp_id=self.corp_id,
            create_time=int(self.clock.now()),
            token=self.kf.issue_callback_token(),
            open_kfid=self.open_kfid,
        )

    # -- a corp member using the self-built app --------------------------------------------

    def member_text(self, userid: str, text: str, *, wait: bool | None = None) -> None:
        """A member writes to the app (plain text message callback)."""
        self._ensure_started()
        with self._lock:
            self.agent.note_member(userid)
            inner, _ = member_text_xml(
                corp_id=self.corp_id,
                userid=userid,
                create_time=int(self.clock.now()),
                content=text,
                agent_id=self.agent_id,
            )
        self._callback("text", inner, wait, self._reply_handler(userid, None))

    def member_click_card(
        self, userid: str, task_id: str, event_key: str, *, wait: bool | None = None
    ) -> None:
        """A member presses a button on a template card (template_card_event callback)."""
        self._ensure_started()
        with self._lock:
            card_type, response_code = self.agent.click(userid, task_id, event_key)
            inner = template_card_event_xml(
                corp_id=self.corp_id,
                userid=userid,
                create_time=int(self.clock.now()),
                event_key=event_key,
                task_id=task_id,
                card_type=card_type,
                response_code=response_code,
                agent_id=self.agent_id,
            )
        self._callback("template_card_event", inner, wait, self._reply_handler(userid, task_id))

    def _reply_handler(self, userid: str, task_id: str | None) -> Callable[[str], None]:
        def apply(plaintext: str) -> None:
            reply = xmltodict.parse(plaintext).get("xml") or {}
            with self._lock:
                self.agent.passive_reply(userid, task_id, reply)

        return apply

    # -- what people saw ---------------------------------------------------------------------

    def seen_by(self, external_userid: str) -> list[dict[str, Any]]:
        """kf messages delivered to the user, in order (welcome messages included)."""
        with self._lock:
            return self.kf.seen_by(external_userid)

    def app_messages_to(self, userid: str) -> list[dict[str, Any]]:
        """App messages the member received (after silent drops), cards with their updates."""
        with self._lock:
            return self.agent.messages_to(userid)

    def app_messages_dropped(self, userid: str) -> int:
        """How many message/send deliveries to the member were silently dropped."""
        with self._lock:
            return self.agent.dropped.get(userid.lower(), 0)

    def add_member(self, userid: str) -> None:
        """Put a member in the app's visible range (when a roster was given)."""
        with self._lock:
            self.agent.add_member(userid)

    def set_session_state(
        self, external_userid: str, state: int, servicer_userid: str = ""
    ) -> None:
        """Force a kf session state (3 = a human servicer took over, 4 = ended)."""
        with self._lock:
            self.kf.set_state(external_userid, state, servicer_userid)

    def close_window(self, external_userid: str, hours: float = 49) -> None:
        """The customer's last message is made `hours` older: with more than 48 h, kf/send_msg
        answers 95002 until they write again (their next message opens a new window)."""
        with self._lock:
            self.kf.age_last_message(external_userid, hours)

    def contact_url(self, scene: str = "") -> str:
        """A kf link for a scene, as kf/add_contact_way would return (for the sandbox page)."""
        with self._lock:
            body = self.kf.add_contact_way({"open_kfid": self.open_kfid, "scene": scene})
        return str(body["url"])

    # -- callbacks ---------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._executor is None:
            raise RuntimeError("start() the simulator first")

    def _callback(
        self,
        kind: str,
        inner_xml: str,
        wait: bool | None,
        on_reply: Callable[[str], None] | None = None,
    ) -> CallbackDelivery | None:
        self._ensure_started()
        assert self._executor is not None

        def run() -> CallbackDelivery:
            delivery = self.sender.deliver(self.callback_url, kind, inner_xml)
            with self._lock:
                self.deliveries.append(delivery)
            if delivery.reply_plaintext and on_reply is not None:
                try:
                    on_reply(delivery.reply_plaintext)
                except Exception as exc:  # an unparseable reply is the receiver's bug
                    delivery.reply_error = f"reply not understood: {exc!r}"
            return delivery

        future = self._executor.submit(run)
        with self._lock:
            self._pending = [f for f in self._pending if not f.done()] + [future]
        if self.wait_callbacks if wait is None else wait:
            return future.result()
        return None

    def flush(self, timeout: float | None = 30.0) -> None:
        """Wait until every queued callback finished its round trip."""
        with self._lock:
            pending = list(self._pending)
        wait_futures(pending, timeout=timeout)

    def send_callback_raw(self, xml_plaintext: str) -> int:
        """Encrypt and sign any inner XML, POST it (with retries); returns the final HTTP status."""
        delivery = self._callback("raw", xml_plaintext, wait=True)
        assert delivery is not None
        return delivery.final_status

    def verify_url(self) -> str:
        """Do the GET URL verification against callback_url; returns the body received."""
        if not self.callback_url:
            raise RuntimeError("callback_url is not set")
        plaintext, body = self.sender.verify(self.callback_url)
        self.last_verification = (plaintext, body)
        return body

    # -- the REST API --------------------------------------------------------------------------

    def handle_api(self, request: ApiRequest) -> ApiResponse:
        """Answer one /cgi-bin/ call (the HTTP layer calls this)."""
        return self.api.handle(request)
