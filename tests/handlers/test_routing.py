"""Journey 2 (routing): roster, leave, substitutes, tie-break, staff fallback, SLA policy."""

from __future__ import annotations

from datetime import date

from handlers import escalation
from handlers.context import HandlerContext
from handlers.workcal import SlaPolicy
from storage.models import Deputy, Station
from tests.handlers.world import World, bj, leave


def _open(world: World, scene: str = "s1", who: str = "wm-alice") -> int:
    world.enter(scene, who=who)
    world.say("新问题 路灯坏了", who=who)
    return world.last_case_id()


def _route_event(world: World, n: int) -> dict:
    (route,) = [e for e in world.events(n) if e.action == "route" or e.kind == "routed"]
    return dict(route.payload)


def test_deputy_on_duty_by_weekday(world: World) -> None:
    world.now = bj(2026, 11, 17, 10)  # Tuesday: 张伟 only
    n = _open(world)
    assert world.case(n).assignee_deputy_id == world.ids["zhang"]
    payload = _route_event(world, n)
    assert payload["reason"] == "roster" and payload["duty_day"] == "2026-11-17"
    world.now = bj(2026, 11, 18, 10)  # Wednesday: 李娜
    assert world.case(_open(world, who="wm-b")).assignee_deputy_id == world.ids["li"]


def test_fewest_open_cases_breaks_ties(world: World) -> None:
    first = _open(world)  # Monday: 张伟 and 李娜 both free → lowest id
    assert world.case(first).assignee_deputy_id == world.ids["zhang"]
    second = _open(world, who="wm-b")
    assert world.case(second).assignee_deputy_id == world.ids["li"]
    payload = _route_event(world, second)
    assert payload["reason"] == "tie_break"
    assert payload["open_cases"] == {str(world.ids["zhang"]): 1, str(world.ids["li"]): 0}


def test_leave_with_a_substitute(world: World) -> None:
    world.now = bj(2026, 11, 17, 10)
    world.add(leave(world.ids["zhang"], date(2026, 11, 16), date(2026, 11, 20), world.ids["zhao"]))
    n = _open(world)
    assert world.case(n).assignee_deputy_id == world.ids["zhao"]
    payload = _route_event(world, n)
    assert payload["reason"] == "substitute" and payload["stands_in_for"] == "张伟"


def test_leave_without_substitute_falls_back_to_station_staff(world: World) -> None:
    world.now = bj(2026, 11, 17, 10)
    world.add(leave(world.ids["zhang"], date(2026, 11, 17), date(2026, 11, 17)))
    world.enter("s1")
    out = world.say("路灯坏了")
    n = world.last_case_id()
    case = world.case(n)
    assert case.assignee_deputy_id is None and case.assignee_staff_id == world.ids["staff_chen"]
    assert _route_event(world, n)["reason"] == "staff_fallback"
    posts = [(s.payload["space"], s.payload["at_user_ids"]) for s in out if s.kind == "card_post"]
    assert posts == [("group:cid-s1;user:u-chen", ["u-chen"])]  # one card in both spaces
    ack = [s.text for s in out if s.kind == "to_constituent"][0]
    assert "联络站工作人员" in ack


def test_no_slot_that_day_falls_back_to_staff(world: World) -> None:
    world.now = bj(2026, 11, 19, 10)  # Thursday: nobody on the roster
    n = _open(world)
    assert world.case(n).assignee_staff_id == world.ids["staff_chen"]


def test_outside_working_time_the_next_working_days_roster_applies(world: World) -> None:
    world.now = bj(2026, 11, 22, 15)  # Sunday → Monday's roster
    n = _open(world)
    assert world.case(n).assignee_deputy_id == world.ids["zhang"]
    assert _route_event(world, n)["duty_day"] == "2026-11-23"
    world.now = bj(2026, 11, 17, 20)  # Tuesday evening → Wednesday's deputy
    assert world.case(_open(world, who="wm-b")).assignee_deputy_id == world.ids["li"]


def test_inactive_deputy_is_skipped(world: World) -> None:
    world.now = bj(2026, 11, 17, 10)
    with world.sessions() as session, session.begin():
        deputy = session.get(Deputy, world.ids["zhang"])
        assert deputy is not None
        deputy.active = False
    n = _open(world)
    assert world.case(n).assignee_staff_id == world.ids["staff_chen"]


def test_station_without_staff_falls_back_to_region_office_staff(world: World) -> None:
    world.add(Station(code="S4", name="海滨联络站", region_id=world.ids["county"]))
    world.tap("station:S4", who="wm-e")
    world.say("海边栏杆松了", who="wm-e")
    n = world.last_case_id()
    case = world.case(n)
    assert case.assignee_staff_id == world.ids["staff_liu"]
    assert _route_event(world, n)["reason"] == "office_fallback"


def test_sla_policy_inherits_downward_and_overrides(world: World) -> None:
    # S3 is in the township, which overrides only the claim limit (0.5 day)
    n = _open(world, scene="", who="wm-f")  # no scene: choose S3 from the menu
    world.tap("station:S3", who="wm-f")
    case = world.case(n)
    ctx = HandlerContext(now=world.now)
    with world.sessions() as session:
        policy = escalation.policy_for(session, case.region_id, ctx)
    assert policy == SlaPolicy(claim_days=0.5, answer_days=3, close_days=15)
    assert case.claim_due_at == ctx.calendar.add_working_days(case.created_at, 0.5)
    assert case.answer_due_at == ctx.calendar.add_working_days(case.created_at, 3)
    # the county's defaults come from the context
    with world.sessions() as session:
        custom = escalation.policy_for(
            session,
            world.ids["county"],
            HandlerContext(now=world.now, sla_defaults=SlaPolicy(2, 5, 20)),
        )
    assert custom == SlaPolicy(2, 5, 20)
