"""Journey 5: SLA in working time and the escalation ladder, with time travel across holidays."""

from __future__ import annotations

from handlers import escalation, texts
from handlers.context import HandlerContext
from tests.handlers.world import Sent, World, bj


def _open(world: World, scene: str = "s1", who: str = "wm-alice") -> int:
    world.enter(scene, who=who)
    world.say("新问题 小区门口路灯坏了", who=who)
    return world.last_case_id()


def _run(world: World) -> tuple[int, list[Sent]]:
    fired = world.run(escalation.run_due)
    return fired, world.new_outbox()


def _steps(world: World, n: int) -> list[tuple[str, int]]:
    return [
        (e.payload["phase"], e.payload["step"]) for e in world.events(n) if e.kind == "escalated"
    ]


def test_ladder_steps_fire_once_each_in_order(world: World) -> None:
    n = _open(world)  # Monday 10:00, claim due Tuesday 10:00 (one working day of 8.5 h)
    due = world.case(n).claim_due_at
    assert due == bj(2026, 11, 17, 10)
    world.now = bj(2026, 11, 17, 9, 59)
    assert _run(world)[0] == 0
    world.now = due
    fired, out = _run(world)
    assert fired == 1
    reminder = texts.escalation_remind_assignee(n, "claim", due)
    assert [(s.kind, s.payload.get("note")) for s in out if s.kind == "card_refresh"] == [
        ("card_refresh", reminder)
    ]
    assert [s.payload["user_ids"] for s in out if s.kind == "oto"] == [["u-zhang"]]
    for _ in range(3):  # repeated runs fire nothing new
        assert _run(world)[0] == 0
    world.now = bj(2026, 11, 17, 14)  # four working hours later: station staff, in the group
    fired, out = _run(world)
    assert fired == 1
    (group,) = [s for s in out if s.kind == "group"]
    assert group.payload["conversation_id"] == "cid-s1" and group.payload["at_user_ids"] == [
        "u-chen"
    ]
    assert group.text == texts.escalation_station_staff(n, "城南联络站", "张代表", "claim", due)
    world.now = bj(2026, 11, 18, 10)  # a working day after the deadline: the office
    fired, out = _run(world)
    assert fired == 1
    (office,) = [s for s in out if s.kind == "group"]
    assert office.payload["conversation_id"] == "cid-office"
    world.tick(days=30)
    assert _run(world)[0] == 0
    assert _steps(world, n) == [("claim", 1), ("claim", 2), ("claim", 3)]
    assert world.case(n).escalation_level == 3


def test_a_late_scheduler_fires_every_missed_step_once(world: World) -> None:
    n = _open(world)
    world.now = bj(2026, 11, 20, 12)
    assert _run(world)[0] == 3
    assert _run(world)[0] == 0
    assert _steps(world, n) == [("claim", 1), ("claim", 2), ("claim", 3)]


def test_next_phase_gets_its_own_ladder(world: World) -> None:
    n = _open(world)
    world.now = bj(2026, 11, 17, 10)
    assert _run(world)[0] == 1  # claim reminder
    world.text("u-zhang", f"#{n} 接单")
    world.now = world.case(n).answer_due_at  # Thursday 10:00
    assert _run(world)[0] == 1
    assert _steps(world, n) == [("claim", 1), ("answer", 1)]
    assert world.case(n).escalation_level == 4
    world.text("u-zhang", f"#{n} 回复 已修好")
    world.tick(days=3)
    assert _run(world)[0] == 0  # waiting for the constituent's rating: no SLA runs


def test_station_without_group_alerts_its_staff_one_to_one(world: World) -> None:
    world.tap("station:S3", who="wm-t")
    world.say("村口桥栏杆断了", who="wm-t")
    n = world.last_case_id()
    assert world.case(n).assignee_staff_id == world.ids["staff_town"]  # no roster at S3
    world.tick(days=10)
    fired, out = _run(world)
    assert fired == 3
    step2 = texts.escalation_station_staff(
        n, "新坝联络站", "工作人员吴芳", "claim", world.case(n).claim_due_at
    )
    assert [s.payload["user_ids"] for s in out if s.kind == "oto" and s.text == step2] == [["u-wu"]]
    # the township names no office group: the county's is used
    assert [s.payload["conversation_id"] for s in out if s.kind == "group"] == ["cid-office"]


def test_case_opened_on_the_mid_autumn_friday_counts_from_monday(world: World) -> None:
    # Friday 2026-09-25 is a Mid-Autumn holiday in 2026; the clock starts Monday 09-28 09:00.
    world.now = bj(2026, 9, 25, 16)
    n = _open(world)
    case = world.case(n)
    assert case.assignee_deputy_id == world.ids["zhang"]  # Monday's roster
    assert case.claim_due_at == bj(2026, 9, 28, 17, 30)
    world.now = bj(2026, 9, 28, 17, 29)
    assert _run(world)[0] == 0
    world.now = bj(2026, 9, 28, 17, 30)
    assert _run(world)[0] == 1


def test_case_before_national_day_escalates_after_the_holiday_and_on_the_makeup_saturday(
    world: World,
) -> None:
    # Wednesday 2026-09-30 is the last working day before the National Day holiday (10-01..10-07).
    world.now = bj(2026, 9, 30, 10)
    n = _open(world)
    case = world.case(n)
    assert case.assignee_deputy_id == world.ids["li"]  # Wednesday's roster
    assert case.claim_due_at == bj(2026, 10, 8, 10)  # 7.5 h on 09-30, 1 h on 10-08
    assert case.answer_due_at == bj(2026, 10, 10, 10)  # Saturday 10-10 is a 调休 working day
    for day in range(1, 8):
        world.now = bj(2026, 10, day, 16)
        assert _run(world)[0] == 0, f"escalated during the holiday on 10-{day:02d}"
    world.now = bj(2026, 10, 8, 9, 59)
    assert _run(world)[0] == 0
    world.now = bj(2026, 10, 8, 10)
    assert _run(world)[0] == 1
    world.now = bj(2026, 10, 8, 14)
    assert _run(world)[0] == 1
    world.now = bj(2026, 10, 9, 10)
    assert _run(world)[0] == 1
    world.now = bj(2026, 10, 9, 11)
    world.text("u-li", f"#{n} 接单")
    world.now = bj(2026, 10, 10, 9, 59)
    assert _run(world)[0] == 0
    world.now = bj(2026, 10, 10, 10)  # the make-up Saturday counts
    assert _run(world)[0] == 1
    world.now = bj(2026, 10, 10, 14)
    assert _run(world)[0] == 1
    world.now = bj(2026, 10, 11, 16)  # Sunday is a day off: the office step waits for Monday
    assert _run(world)[0] == 0
    world.now = bj(2026, 10, 12, 10)
    assert _run(world)[0] == 1
    assert _steps(world, n) == [
        ("claim", 1),
        ("claim", 2),
        ("claim", 3),
        ("answer", 1),
        ("answer", 2),
        ("answer", 3),
    ]


def test_need_info_pauses_the_sla_clock(world: World) -> None:
    n = _open(world)
    world.text("u-zhang", f"#{n} 接单")
    original = world.case(n).answer_due_at
    assert original == bj(2026, 11, 19, 10)
    world.now = bj(2026, 11, 16, 11)
    world.text("u-zhang", f"#{n} 补充 请提供具体楼号")
    world.now = bj(2026, 11, 19, 12)  # past the original answer deadline, still waiting
    assert _run(world)[0] == 0
    world.say("3号楼东侧")
    case = world.case(n)
    cal = HandlerContext(now=world.now).calendar
    waited = cal.working_seconds_between(bj(2026, 11, 16, 11), bj(2026, 11, 19, 12))
    assert case.paused_seconds == waited == 26.5 * 3600
    assert case.answer_due_at == cal.add_working_seconds(
        case.created_at, 3 * cal.day_seconds + waited
    )
    assert case.answer_due_at == bj(2026, 11, 24, 11)
    assert _run(world)[0] == 0
    world.now = bj(2026, 11, 24, 11)
    assert _run(world)[0] == 1
    assert _steps(world, n) == [("answer", 1)]
