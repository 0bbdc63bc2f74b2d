"""The lifecycle state machine: valid moves only, and the event log replays to the state."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from handlers.caselog import Actor, replayed_status, transition
from handlers.lifecycle import (
    TERMINAL,
    TRANSITIONS,
    Action,
    InvalidTransition,
    Status,
    actions_from,
    next_status,
)
from storage.models import Case, Constituent
from storage.timeutil import utcnow


def test_terminal_statuses_allow_nothing():
    for status in TERMINAL:
        # a 附议 can be undone by staff; every other end is final
        assert actions_from(status) == ([Action.UNMERGE] if status == Status.MERGED else [])


def test_every_open_status_is_reachable_and_can_end():
    reachable = {Status.NEW}
    frontier = [Status.NEW]
    while frontier:
        s = frontier.pop()
        for a in actions_from(s):
            t = TRANSITIONS[(s, a)]
            if t not in reachable:
                reachable.add(t)
                frontier.append(t)
    assert reachable == set(Status)
    for s in set(Status) - TERMINAL:
        assert Action.CLOSE in actions_from(s)


def test_invalid_transition_carries_a_polite_chinese_message():
    with pytest.raises(InvalidTransition) as err:
        next_status(Status.CLOSED, Action.CLAIM)
    msg = err.value.user_message
    assert msg and any("\u4e00" <= ch <= "\u9fff" for ch in msg)


def _new_case(session: Session) -> Case:
    person = Constituent(channel="wecom_kf", external_id=f"wm-{utcnow().timestamp()}")
    session.add(person)
    session.flush()
    case = Case(status=Status.NEW.value, constituent_id=person.id, text="路灯坏了")
    session.add(case)
    session.flush()
    return case


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # CI sees the same examples
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.sampled_from(list(Action)), max_size=25))
def test_random_actions_keep_state_valid_and_log_replays(
    sessions: sessionmaker[Session], actions: list[Action]
):
    with sessions.begin() as session:
        case = _new_case(session)
        expected = Status.NEW
        for action in actions:
            if (expected, action) in TRANSITIONS:
                transition(session, case, action, Actor.system(), utcnow())
                expected = TRANSITIONS[(expected, action)]
            else:
                with pytest.raises(InvalidTransition):
                    transition(session, case, action, Actor.system(), utcnow())
            assert Status(case.status) == expected
        session.flush()
        assert replayed_status(session, case.id) == expected
