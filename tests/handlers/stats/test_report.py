"""Statistics: every figure checked against hand-counted seeded cases and a real journey."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from handlers.stats import UnknownRegion, Window, build_report
from handlers.stats.figures import p90
from handlers.workcal import WorkCalendar
from storage.models import Case, Constituent, Rating
from tests.handlers.world import World, bj

BJ = ZoneInfo("Asia/Shanghai")
NOV = Window(date(2026, 11, 16), date(2026, 11, 30), BJ)
CAL = WorkCalendar()


def _case(world: World, session: Session, n: int, **kw: object) -> Case:
    person = Constituent(channel="wecom_kf", external_id=f"wm-seed-{n}", sends_since_inbound=0)
    session.add(person)
    session.flush()
    defaults: dict[str, object] = {
        "status": "assigned",
        "constituent_id": person.id,
        "station_id": world.ids["s1"],
        "region_id": world.ids["county"],
        "text": "路灯坏了",
        "created_at": bj(2026, 11, 16, 10),
    }
    defaults.update(kw)
    case = Case(**defaults)
    session.add(case)
    session.flush()
    return case


def _rate(session: Session, case: Case, value: str, at: datetime, seq: int = 1) -> None:
    session.add(
        Rating(
            case_id=case.id,
            answer_seq=seq,
            constituent_id=case.constituent_id,
            value=value,
            created_at=at,
        )
    )


def _seed_month(world: World) -> None:
    """Six cases in the window, one before it, one after it; four ratings."""
    with world.sessions() as session, session.begin():
        due = bj(2026, 11, 19, 10)  # three working days after Monday 10:00
        a = _case(  # answered in time (2 working hours), rated 满意, closed
            world,
            session,
            1,
            status="closed",
            claimed_at=bj(2026, 11, 16, 11),
            first_answered_at=bj(2026, 11, 16, 12),
            closed_at=bj(2026, 11, 16, 15),
            answer_due_at=due,
            assignee_deputy_id=world.ids["zhang"],
            category="市政设施(路灯/井盖)",
        )
        _rate(session, a, "satisfied", bj(2026, 11, 16, 15))
        b = _case(  # answered late (after its deadline), rated 不满意, reopened
            world,
            session,
            2,
            status="reopened",
            rework_count=1,
            claimed_at=bj(2026, 11, 17, 10),
            first_answered_at=bj(2026, 11, 20, 10),
            answer_due_at=due,
            assignee_deputy_id=world.ids["zhang"],
            category="道路交通",
        )
        _rate(session, b, "unsatisfied", bj(2026, 11, 20, 11))
        _case(  # deadline fell in the window, never answered
            world, session, 3, answer_due_at=due, assignee_deputy_id=world.ids["li"]
        )
        _case(world, session, 4, status="merged", station_id=world.ids["s2"])  # 附议
        _case(world, session, 5, status="rejected", closed_at=bj(2026, 11, 17, 9))
        c = _case(  # answered on time, rated 基本满意, then 未评价 for a second answer
            world,
            session,
            6,
            status="expired",
            station_id=world.ids["s2"],
            claimed_at=bj(2026, 11, 23, 9, 30),
            first_answered_at=bj(2026, 11, 23, 10),
            closed_at=bj(2026, 11, 30, 10),
            answer_due_at=bj(2026, 11, 26, 9),
            created_at=bj(2026, 11, 23, 9),
            assignee_deputy_id=world.ids["wang"],
        )
        _rate(session, c, "basic", bj(2026, 11, 23, 11))
        _rate(session, c, "unrated", bj(2026, 11, 30, 10), seq=2)
        old = _case(  # opened before the window; rated inside it
            world,
            session,
            7,
            status="closed",
            created_at=bj(2026, 11, 2, 10),
            first_answered_at=bj(2026, 11, 3, 10),
            answer_due_at=bj(2026, 11, 5, 10),
            closed_at=bj(2026, 11, 17, 10),
        )
        _rate(session, old, "satisfied", bj(2026, 11, 17, 10))
        _case(world, session, 8, created_at=bj(2026, 12, 1, 9))  # after the window


def _figures(world: World, **kw: object) -> dict[str, object]:
    with world.sessions() as session:
        report = build_report(session, window=NOV, calendar=CAL, **kw)  # type: ignore[arg-type]
        return report.as_dict()


def test_totals_equal_hand_counts(world: World) -> None:
    _seed_month(world)
    totals = _figures(world, region_code="K")["totals"]
    assert isinstance(totals, dict)
    assert totals["collected"]["value"] == 5  # cases 1, 2, 3, 5, 6 (4 is 附议, 7/8 outside)
    assert totals["co_signers"]["value"] == 1
    assert totals["answered"]["value"] == 3  # 1, 2, 6
    # deadline in window or answered in it: 1, 2, 3, 6 → in time: 1 and 6
    assert (
        totals["timely_answer_rate"]["numerator"],
        totals["timely_answer_rate"]["denominator"],
    ) == (2, 4)
    assert totals["timely_answer_rate"]["value"] == 0.5
    # rated in the window: 满意 (1), 不满意 (2), 基本满意 (6), 满意 (7) → 3 of 4; 未评价 beside it
    assert (
        totals["satisfaction_rate"]["numerator"],
        totals["satisfaction_rate"]["denominator"],
    ) == (3, 4)
    assert totals["unrated"]["value"] == 1
    # closed or expired by the window's end: 1 and 6 of the five collected
    assert (totals["closed_rate"]["numerator"], totals["closed_rate"]["denominator"]) == (2, 5)
    assert totals["rejected"]["value"] == 1
    assert totals["reworked"]["value"] == 1  # case 2, reopened after 不满意
    # claim: case 1 one working hour, case 2 Monday 10:00 → Tuesday 10:00 = 8.5 h, case 6 0.5 h
    assert totals["hours_to_claim_median"] == {
        "value": 1.0,
        "count": 3,
        "formula": totals["hours_to_claim_median"]["formula"],
    }
    assert totals["hours_to_claim_p90"]["value"] == 8.5
    assert totals["hours_to_answer_median"]["value"] == 2.0  # 2 h, 34 h (case 2), 1 h
    assert totals["hours_to_close_median"]["count"] == 2


def test_every_figure_states_its_formula(world: World) -> None:
    _seed_month(world)
    report = _figures(world, region_code="K")
    assert isinstance(report["totals"], dict)
    for figure in report["totals"].values():
        assert figure["formula"]
    assert report["window"] == {
        "from": "2026-11-16",
        "to": "2026-11-30",
        "timezone": "Asia/Shanghai",
    }


def test_region_rolls_up_the_tree_and_excludes_others(world: World) -> None:
    _seed_month(world)
    with world.sessions() as session, session.begin():
        _case(world, session, 20, station_id=world.ids["s3"], region_id=world.ids["town"])
    city = _figures(world, region_code="C")["totals"]
    county = _figures(world, region_code="K")["totals"]
    town = _figures(world, region_code="T")["totals"]
    assert isinstance(city, dict) and isinstance(county, dict) and isinstance(town, dict)
    assert (city["collected"]["value"], county["collected"]["value"]) == (6, 6)
    assert town["collected"]["value"] == 1
    assert town["satisfaction_rate"]["value"] is None  # no ratings: no figure, not 0 %


def test_groups_by_station_and_deputy_flag_small_samples(world: World) -> None:
    _seed_month(world)
    by_station = _figures(world, region_code="K", by="station")["groups"]
    assert isinstance(by_station, list)
    counts = {g["label"]: g["figures"]["collected"]["value"] for g in by_station}
    assert counts == {"城南联络站": 4, "城北联络站": 1}
    assert all(g["small_sample"] for g in by_station)
    by_deputy = _figures(world, region_code="K", by="deputy")["groups"]
    assert isinstance(by_deputy, list)
    labels = {g["label"]: g["figures"]["collected"]["value"] for g in by_deputy}
    assert labels == {"张伟": 2, "李娜": 1, "王强": 1, "工作人员承办或未分派": 1}


def test_group_totals_add_up(world: World) -> None:
    _seed_month(world)
    for by in ("station", "deputy", "category", "source", "region", "week"):
        report = _figures(world, region_code="K", by=by)
        groups = report["groups"]
        assert isinstance(groups, list) and isinstance(report["totals"], dict)
        assert sum(g["figures"]["collected"]["value"] for g in groups) == 5, by
        rated = sum(g["figures"]["satisfaction_rate"]["denominator"] for g in groups)
        assert rated == report["totals"]["satisfaction_rate"]["denominator"], by


def test_journey_through_the_handlers_counts(world: World) -> None:
    world.enter("s1")
    world.say("小区门口路灯坏了一个月了")
    n = world.last_case_id()
    world.tick(minutes=30)
    world.click("u-zhang", "claim", n)
    world.tick(minutes=30)
    world.text("u-zhang", f"#{n} 回复 已联系城管，本周内修复")
    world.tap(f"rate:{n}:1:ok", text="满意")
    totals = _figures(world, region_code="K")["totals"]
    assert isinstance(totals, dict)
    assert totals["collected"]["value"] == 1
    assert totals["timely_answer_rate"]["numerator"] == 1
    assert totals["satisfaction_rate"]["value"] == 1.0
    assert totals["hours_to_claim_median"]["value"] == 0.5
    assert totals["hours_to_answer_median"]["value"] == 1.0


def test_unknown_region_lists_the_valid_ones(world: World) -> None:
    with world.sessions() as session, pytest.raises(UnknownRegion) as info:
        build_report(session, region_code="nope", window=NOV, calendar=CAL)
    assert info.value.valid == ["C", "K", "T"]


def test_window_end_before_start_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        Window(date(2026, 11, 30), date(2026, 11, 1), BJ)


def test_p90_nearest_rank() -> None:
    assert p90([1.0]) == 1.0
    assert p90([float(i) for i in range(1, 11)]) == 9.0
    assert p90([float(i) for i in range(1, 12)]) == 10.0


def test_window_is_local_days() -> None:
    w = Window(date(2026, 11, 16), date(2026, 11, 16), BJ)
    assert w.start == bj(2026, 11, 16)
    assert w.end - w.start == timedelta(days=1)


def test_a_renamed_category_counts_under_its_new_name(world: World) -> None:
    from handlers.insight.category_set import build_set, use

    _seed_month(world)
    use(build_set(rename={"道路交通": "交通出行"}))
    try:
        groups = _figures(world, region_code="K", by="category")["groups"]
    finally:
        use(None)
    assert isinstance(groups, list)
    labels = {g["label"]: g["figures"]["collected"]["value"] for g in groups}
    assert labels.get("交通出行") == 1 and "道路交通" not in labels, labels
