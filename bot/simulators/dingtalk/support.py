"""Clock, directory, tokens, rate limit and fault injection shared by the DingTalk simulator."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.simulators.dingtalk import errors
from bot.simulators.dingtalk.errors import ApiError
from bot.simulators.dingtalk.payloads import Ids, Org, Sender, encrypted_id

TOKEN_TTL = 7200
TICKET_TTL = 90


class SimClock:
    """Wall clock plus an offset moved by `advance()`; every expiry in the sim reads this."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.offset = 0.0

    def now(self) -> float:
        """Current sim time in seconds."""
        return self._clock() + self.offset

    def now_ms(self) -> int:
        """Current sim time in milliseconds (DingTalk timestamps are ms)."""
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        """Move sim time forward."""
        self.offset += seconds


def new_stats() -> dict[str, Any]:
    """Counters the tests and the sandbox page read; `qps_rejected` is per path."""
    return {
        "qps_rejected": defaultdict(int),
        "tickets_issued": 0,
        "tickets_rejected": 0,
        "frames_sent": 0,
        "redelivered": 0,
        "acks": 0,
        "acks_non_200": 0,
        "ack_data_not_string": 0,
        "unmatched_acks": 0,
        "disconnect_acks": 0,
        "bad_client_frames": 0,
        "ping_ok": 0,
        "ping_bad": 0,
        "card_callback_timeouts": 0,
        "card_callback_no_connection": 0,
        "late_card_acks": 0,
        "card_param_non_string": 0,
        "flow_controlled": 0,
        "abandoned_requests": 0,
        "media_uploaded": 0,
    }


@dataclass
class User:
    """A member of the fake org (userId is the staffId)."""

    user_id: str
    nick: str
    admin: bool = False

    def sender(self) -> Sender:
        """This user as the sender of a bot message."""
        return Sender(self.user_id, self.nick, self.admin)

    def at_entry(self) -> dict[str, str]:
        """How this user appears in a message's atUsers."""
        return {"dingtalkId": encrypted_id("user", self.user_id), "staffId": self.user_id}


@dataclass
class Group:
    """A group chat with the bot in it."""

    conversation_id: str
    title: str
    members: list[str]


@dataclass
class Directory:
    """Users and groups of the fake org."""

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)

    def user(self, user_id: str) -> User:
        """A user or ValueError."""
        if user_id not in self.users:
            raise ValueError(f"unknown user {user_id!r}")
        return self.users[user_id]

    def group(self, conversation_id: str) -> Group:
        """A group or ValueError."""
        if conversation_id not in self.groups:
            raise ValueError(f"unknown group {conversation_id!r}")
        return self.groups[conversation_id]

    def member(self, user_id: str, conversation_id: str) -> tuple[User, Group]:
        """A user and a group they belong to, or ValueError."""
        user, group = self.user(user_id), self.group(conversation_id)
        if user_id not in group.members:
            raise ValueError(f"user {user_id!r} is not a member of {conversation_id!r}")
        return user, group


@dataclass
class Context:
    """What every part of the simulator shares."""

    client_id: str
    client_secret: str
    clock: SimClock
    ids: Ids
    org: Org
    app_id: str
    stats: dict[str, Any] = field(default_factory=new_stats)


class TokenStore:
    """accessTokens: 7200 s, the same token while valid (and its life extended)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tokens: dict[str, float] = {}  # token -> expiry (sim time)
        self.current: str | None = None

    def issue(self, app_key: Any, app_secret: Any) -> dict[str, Any]:
        """`POST /v1.0/oauth2/accessToken`."""
        if app_key != self.ctx.client_id or app_secret != self.ctx.client_secret:
            raise ApiError(400, errors.INVALID_CLIENT, "无效的clientId或者clientSecret")
        now = self.ctx.clock.now()
        if self.current is None or self.tokens[self.current] <= now:
            self.current = self.ctx.ids.hex(16)
        self.tokens[self.current] = now + TOKEN_TTL
        return {"accessToken": self.current, "expireIn": TOKEN_TTL}

    def check(self, token: str | None) -> None:
        """Raise the documented errors for a missing, unknown or expired token."""
        if not token:
            raise ApiError(400, errors.MISSING_TOKEN, "缺少参数 x-acs-dingtalk-access-token")
        expiry = self.tokens.get(token)
        if expiry is None or expiry <= self.ctx.clock.now():
            raise ApiError(400, errors.INVALID_TOKEN, "不合法的access_token")

    def expire_all(self) -> None:
        """Invalidate every token now (as if DingTalk revoked them)."""
        self.tokens.clear()
        self.current = None


class QpsLimiter:
    """`qps_limit` admitted calls per rolling second per API path (one app per simulator).

    dingtalk.md §4.6 says only "20 QPS per app per API"; a rolling second is the strictest
    reading (any fixed-second count the server may keep is one of its windows), so a client
    that passes here passes there.

    Measured on a monotonic clock, not the sim clock: rate is physical, and a frozen test clock
    would otherwise reject everything after the first `qps_limit` calls.
    """

    def __init__(self, limit: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.monotonic = monotonic
        self.windows: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, path: str) -> bool:
        """True if one more call to `path` fits in the last second (and count it)."""
        now = self.monotonic()
        window = self.windows[path]
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.limit:
            return False
        window.append(now)
        return True


@dataclass
class Injection:
    """A canned failure for the next `times` calls to a path."""

    status: int
    body: dict[str, Any]
    times: int


class Faults:
    """Injected failures, latencies and per-user flow control."""

    def __init__(self) -> None:
        self.injections: dict[str, deque[Injection]] = defaultdict(deque)
        self.latency: dict[str, float] = {}
        self.abandon: set[str] = set()  # latency paths that drop requests of vanished clients
        self.flow_control: dict[str, int] = {}

    def take(self, path: str) -> Injection | None:
        """The injection to answer this call with, if any (consumes one use)."""
        queue = self.injections.get(path)
        if not queue:
            return None
        head = queue[0]
        head.times -= 1
        if head.times <= 0:
            queue.popleft()
        return head

    def flow_controlled(self, user_id: str) -> bool:
        """True (and consume one use) if this user's next 1:1 message is flow-controlled."""
        left = self.flow_control.get(user_id, 0)
        if left <= 0:
            return False
        self.flow_control[user_id] = left - 1
        return True
