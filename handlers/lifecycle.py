"""The case lifecycle as a pure state machine (product.md): statuses, actions, transitions."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    """Where a case stands."""

    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    NEED_INFO = "need_info"
    TRANSFERRED = "transferred"
    REPLIED = "replied"
    REOPENED = "reopened"
    CLOSED = "closed"
    REJECTED = "rejected"
    MERGED = "merged"
    EXPIRED = "expired"


class Action(StrEnum):
    """What can happen to a case."""

    ROUTE = "route"  # system assigns a handler
    CLAIM = "claim"  # 接单
    REPLY = "reply"  # 回复 (deputy or staff)
    ASK_INFO = "ask_info"  # 需补充
    INFO_PROVIDED = "info_provided"  # the constituent answered the question
    TRANSFER = "transfer"  # 转办 to a department
    DEPT_ANSWER = "dept_answer"  # the department's answer
    RATE_OK = "rate_ok"  # 满意 / 基本满意
    RATE_BAD = "rate_bad"  # 不满意
    EXPIRE = "expire"  # no rating within N days → 未评价
    REJECT = "reject"  # 不予受理
    MERGE = "merge"  # 附议 into another case
    UNMERGE = "unmerge"  # staff undo a 附议: the case is handled on its own again
    REASSIGN = "reassign"  # staff: 改派
    CLOSE = "close"  # staff: 办结


TERMINAL = frozenset({Status.CLOSED, Status.REJECTED, Status.MERGED, Status.EXPIRED})
OPEN = frozenset(Status) - TERMINAL
# Statuses in which a handler is working on the case (the SLA "answer" clock runs).
_HANDLING = (Status.ACCEPTED, Status.REOPENED)

TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.NEW, Action.ROUTE): Status.ASSIGNED,
    (Status.ASSIGNED, Action.CLAIM): Status.ACCEPTED,
    (Status.REOPENED, Action.CLAIM): Status.ACCEPTED,
    **{(s, Action.REPLY): Status.REPLIED for s in (*_HANDLING, Status.NEED_INFO)},
    **{(s, Action.ASK_INFO): Status.NEED_INFO for s in _HANDLING},
    (Status.NEED_INFO, Action.INFO_PROVIDED): Status.ACCEPTED,
    **{(s, Action.TRANSFER): Status.TRANSFERRED for s in _HANDLING},
    (Status.TRANSFERRED, Action.DEPT_ANSWER): Status.REPLIED,
    (Status.REPLIED, Action.RATE_OK): Status.CLOSED,
    (Status.REPLIED, Action.RATE_BAD): Status.REOPENED,
    (Status.REPLIED, Action.EXPIRE): Status.EXPIRED,
    **{
        (s, Action.REJECT): Status.REJECTED
        for s in (Status.NEW, Status.ASSIGNED, *_HANDLING, Status.NEED_INFO)
    },
    **{(s, Action.MERGE): Status.MERGED for s in (Status.NEW, Status.ASSIGNED, Status.ACCEPTED)},
    (Status.MERGED, Action.UNMERGE): Status.ASSIGNED,  # back to its handler, to be claimed again
    **{
        (s, Action.REASSIGN): Status.ASSIGNED
        for s in (Status.NEW, Status.ASSIGNED, *_HANDLING, Status.NEED_INFO, Status.TRANSFERRED)
    },
    **{(s, Action.CLOSE): Status.CLOSED for s in OPEN},
}


class InvalidTransition(Exception):
    """An action that the case's status does not allow; `user_message` is polite Chinese."""

    def __init__(self, status: Status, action: Action, user_message: str) -> None:
        super().__init__(f"{action} not allowed from {status}")
        self.status = status
        self.action = action
        self.user_message = user_message


def allowed(status: Status, action: Action) -> bool:
    """True when `action` may happen to a case in `status`."""
    return (status, action) in TRANSITIONS


def next_status(status: Status, action: Action) -> Status:
    """The status after `action`, or InvalidTransition with a message for the user."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        from handlers import texts

        raise InvalidTransition(status, action, texts.invalid_transition(status, action)) from None


def replay(actions: Iterable[Action], start: Status = Status.NEW) -> Status:
    """The status reached by applying `actions` in order from `start`."""
    status = start
    for action in actions:
        status = next_status(status, action)
    return status


def actions_from(status: Status) -> list[Action]:
    """Every action allowed in `status`, in declaration order."""
    return [a for a in Action if (status, a) in TRANSITIONS]
