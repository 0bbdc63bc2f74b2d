"""履职档案: 登记 of offline activities, staff confirmation, a seeded year's archive with 积分."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from handlers.duties import record, register
from handlers.duties.scores import score_table
from handlers.events import StaffText
from storage.models import DutyActivity
from tests.handlers.duties.helpers import create, load
from tests.handlers.world import World, bj, texts_to

TODAY = date(2026, 11, 16)


def _activities(world: World) -> list[DutyActivity]:
    with world.sessions() as session:
        rows = list(session.scalars(select(DutyActivity).order_by(DutyActivity.id)))
        session.expunge_all()
        return rows


def test_register_with_photo_and_confirm_by_station_staff(world: World) -> None:
    out = world.send(
        StaffText(
            platform="dingtalk",
            user_id="u-zhang",
            platform_id="dt-photo-1",
            text="登记 走访 11月10日 东湖村 走访选民10户",
            sent_at=world.now,
            reply_webhook="http://127.0.0.1:9/session",
            reply_webhook_expires_at=world.now + timedelta(hours=1),
            attachments=("dlcode-1",),
        )
    )
    assert "已登记（编号" in texts_to(out, "u-zhang")[0]
    (a,) = _activities(world)
    assert (a.kind, a.occurred_on, a.place, a.text, a.photo, a.station_id) == (
        "走访", date(2026, 11, 10), "东湖村", "走访选民10户", "dlcode-1", world.ids["s1"],
    )  # fmt: skip
    # staff of another station may not confirm; the deputy's station staff may, once
    assert "需由该代表所在联络站" in texts_to(world.text("u-zhou", f"确认登记 {a.id}"), "u-zhou")[0]
    assert "需由" in texts_to(world.text("u-wu", f"确认登记 {a.id}"), "u-wu")[0]
    assert "已确认登记" in texts_to(world.text("u-chen", f"确认登记 {a.id}"), "u-chen")[0]
    assert "已经确认过" in texts_to(world.text("u-liu", f"确认登记 {a.id}"), "u-liu")[0]
    (a,) = _activities(world)
    assert a.status == "confirmed" and a.confirmed_by_staff_id == world.ids["staff_chen"]
    # 登记 alone shows the format and the latest registrations
    out = texts_to(world.text("u-zhang", "登记"), "u-zhang")[0]
    assert "请按格式登记" in out and "（已确认）" in out


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("登记 走访", "请按格式登记"),
        ("登记 走访 三天前 东湖村", "没能看懂日期"),
        ("登记 走访 11月30日 东湖村", "last year"),  # a later month/day is last year's
        ("登记 走访 2026-11-30 东湖村", "还没到"),
        ("登记 走访 2月30日 东湖村", "没能看懂日期"),
    ],
)
def test_register_bad_input(world: World, text: str, needle: str) -> None:
    out = texts_to(world.text("u-zhang", text), "u-zhang")[0]
    if needle == "last year":
        assert "已登记" in out and _activities(world)[0].occurred_on == date(2025, 11, 30)
        return
    assert needle in out
    assert _activities(world) == []


def test_staff_cannot_register_and_days_parse() -> None:
    assert register.parse_day("今天", TODAY) == TODAY
    assert register.parse_day("昨天", TODAY) == date(2026, 11, 15)
    assert register.parse_day("12.3", TODAY) == date(2025, 12, 3)
    assert register.parse_day("2026/1/5", TODAY) == date(2026, 1, 5)
    assert register.handles("登记 走访 今天 村委会") and register.handles("确认登记 3")
    assert not register.handles("登记了吗") and not register.handles("#12 回复 已登记")


def _case(world: World, who: str) -> int:
    world.enter("s1", who=who)
    world.say("小区门口路灯坏了一个月了", who=who)
    return world.last_case_id()


def _seed_year(world: World) -> None:
    """Two cases (one on time and 满意, one late and 基本满意), a survey, a vote, a visit."""
    n1 = _case(world, "wm-a")
    world.click("u-zhang", "claim", n1)
    world.text("u-zhang", f"#{n1} 回复 已联系城管，本周内修复")
    world.tap(f"rate:{n1}:1:ok", who="wm-a", text="满意")
    n2 = _case(world, "wm-b")
    world.click("u-zhang", "claim", n2)
    world.now = bj(2026, 11, 24, 10, 0)  # six working days later: past the 3-day answer due
    world.text("u-zhang", f"#{n2} 回复 已协调物业处理")
    world.tap(f"rate:{n2}:1:basic", who="wm-b", text="基本满意")
    world.now = bj(2026, 11, 25, 10, 0)
    sid = create(world, load("survey.yaml", deadline="2026-11-30 17:00"))
    world.text("u-zhang", f"#征集{sid} 1A 2B")
    vid = create(world, load("vote.yaml", deadline="2026-11-30 17:00"))
    world.text("u-zhang", f"#投票{vid} 1C")
    world.text("u-zhang", "登记 走访 11月10日 东湖村 走访选民10户")
    world.text("u-zhang", "登记 调研 2025-12-03 新坝镇 农村道路")  # another year
    (a, _) = _activities(world)
    world.text("u-chen", f"确认登记 {a.id}")


def test_archive_of_a_seeded_year_lists_every_activity_with_points(world: World) -> None:
    _seed_year(world)
    points = record.points_table({})
    with world.sessions() as session:
        archive = record.archives(session, 2026, points, {world.ids["zhang"]})[world.ids["zhang"]]
        other = record.archives(session, 2026, points, {world.ids["li"]})[world.ids["li"]]
    keys = [e.key for e in archive.entries]
    assert sorted(keys) == sorted(
        ["case_received"] * 2
        + ["case_claimed"] * 2
        + ["case_answered"] * 2
        + ["case_answered_on_time", "rating_satisfied", "rating_basic"]
        + ["survey_answered", "vote_cast", "activity_registered", "activity_confirmed"]
    )
    assert archive.total == 2 + 2 + 4 + 1 + 1 + 0.5 + 1 + 1 + 1 + 1
    assert ("答复诉求", 2, 4.0) in archive.summary()
    visit = next(e for e in archive.entries if e.key == "activity_registered")
    assert visit.day == date(2026, 11, 10) and "东湖村" in visit.detail
    vote_entry = next(e for e in archive.entries if e.key == "vote_cast")
    assert vote_entry.day == date(2026, 11, 30)  # a secret ballot is dated by its deadline
    assert other.entries == []
    with world.sessions() as session:
        last_year = record.archives(session, 2025, points, {world.ids["zhang"]})
    assert [e.key for e in last_year[world.ids["zhang"]].entries] == ["activity_registered"]


def test_points_follow_the_config_and_tables_sum_by_station_and_region(world: World) -> None:
    _seed_year(world)
    points = record.points_table({"case_answered": 3, "vote_cast": 0})
    with world.sessions() as session:
        archive = record.archives(session, 2026, points, {world.ids["zhang"]})[world.ids["zhang"]]
        rows = {(r.level, r.code): r for r in score_table(session, 2026, points)}
        county = {(r.level, r.code) for r in score_table(session, 2026, points, "T")}
    assert archive.total == 14.5 + 2 - 1
    s1 = rows[("station", "S1")]
    assert (s1.deputies, s1.total) == (3, 15.5) and round(s1.average, 2) == 5.17
    assert rows[("region", "K")].total == 15.5 and rows[("region", "K")].deputies == 5
    assert rows[("region", "T")].total == 0 and rows[("station", "S3")].deputies == 1
    assert county == {("region", "T"), ("station", "S3")}
    with pytest.raises(ValueError, match="unknown"):
        record.points_table({"case_typo": 1})
