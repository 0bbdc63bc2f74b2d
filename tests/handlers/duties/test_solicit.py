"""意见征集 through the handlers: delivery, answers on the card, changes, refusals, reminders."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from sqlalchemy import select

from handlers.duties import solicit
from handlers.duties.results import results
from handlers.duties.spec import parse_spec
from storage.models import OutboxItem, SolicitTarget
from tests.handlers.duties.helpers import BJ, create, load, solicitation, target
from tests.handlers.world import World, bj, texts_to


def _links(markdown: str) -> list[str]:
    """The commands the card's dtmd links send."""
    marker = "dtmd://dingtalkclient/sendMessage?content="
    out = []
    for part in markdown.split(marker)[1:]:
        out.append(unquote(part.split(")", 1)[0]))
    return out


def test_create_reaches_every_deputy_of_the_region_in_batches(world: World) -> None:
    with world.sessions() as session, session.begin():
        created = solicit.create(session, world.ctx(), parse_spec(load("survey.yaml"), BJ))
    sent = world.new_outbox()
    assert created.deputies == 5 and created.batches == 1
    assert [s.kind for s in sent] == ["oto"]
    assert sorted(sent[0].payload["user_ids"]) == sorted(
        ["u-zhang", "u-li", "u-zhao", "u-wang", "u-sun"]
    )
    assert sent[0].payload["title"].startswith("意见征集")
    sid = created.solicitation_id
    links = _links(sent[0].text)
    assert f"#征集{sid} 1A" in links and f"#征集{sid} 2+D" in links
    assert f"#征集{sid} 3 您的意见" in sent[0].text
    with world.sessions() as session:
        stations = dict(
            session.execute(
                select(SolicitTarget.deputy_id, SolicitTarget.station_id).where(
                    SolicitTarget.solicitation_id == sid
                )
            ).all()
        )
    assert stations[world.ids["wang"]] == world.ids["s2"]
    assert stations[world.ids["sun"]] == world.ids["s3"]


def test_large_audience_is_one_outbox_row_per_twenty(world: World) -> None:
    from storage.models import Deputy, DeputyStation

    extra = [Deputy(code=f"X{i}", name=f"代表{i}", dingtalk_user_id=f"u-x{i}") for i in range(40)]
    world.add(*extra)
    world.add(*(DeputyStation(deputy_id=d.id, station_id=world.ids["s2"]) for d in extra))
    sid = create(world, load("survey.yaml"))
    with world.sessions() as session:
        rows = list(
            session.scalars(
                select(OutboxItem).where(OutboxItem.dedupe_key.like(f"solicit:{sid}:%"))
            )
        )
    users = [u for r in rows for u in r.payload["user_ids"]]
    assert len(rows) == 3 and all(len(r.payload["user_ids"]) <= 20 for r in rows)
    assert len(users) == len(set(users)) == 45


def test_answers_on_the_card_change_and_late_refusal(world: World) -> None:
    sid = create(world, load("survey.yaml"))
    # 张伟 answers everything in one message
    out = texts_to(world.text("u-zhang", f"#征集{sid} 1A 2AC 3 建议增加停车位"), "u-zhang")
    assert "已提交" in out[0] and "A. 赞成" in out[0] and "建议增加停车位" in out[0]
    # 李娜 clicks the card's links one by one: first the single choice, then two toggles
    out = texts_to(world.text("u-li", f"#征集{sid} 1B"), "u-li")
    assert "尚缺第 2 题" in out[0]
    out = texts_to(world.text("u-li", f"#征集{sid} 2+D"), "u-li")
    assert "已提交" in out[0] and "修改" in out[0]
    out = texts_to(world.text("u-li", f"#征集{sid} 2+B"), "u-li")
    assert "已修改并提交" in out[0] and "B. 维修基金、D. 停车" in out[0]
    assert target(world, sid, world.ids["li"]).answers == {"1": ["B"], "2": ["B", "D"]}
    # she changes her mind again before the deadline (full-width as some keyboards type it)
    out = texts_to(world.text("u-li", f"＃征集{sid} 1Ｃ 2+B"), "u-li")
    assert "已修改并提交" in out[0]
    row = target(world, sid, world.ids["li"])
    assert row.answers == {"1": ["C"], "2": ["D"]} and row.changes == 2
    # after the deadline an answer is refused politely and changes nothing
    world.now = bj(2026, 11, 20, 17, 1)
    out = texts_to(world.text("u-zhao", f"#征集{sid} 1A 2A"), "u-zhao")
    assert "已于" in out[0] and "截止" in out[0] and "未能记录" in out[0]
    assert target(world, sid, world.ids["zhao"]).status == "sent"
    with world.sessions() as session:
        res = results(session, sid)
    assert res.counts == {1: {"A": 1, "B": 0, "C": 1}, 2: {"A": 1, "B": 0, "C": 1, "D": 1}}
    assert [(t.deputy_name, t.text) for t in res.text_answers] == [("张伟", "建议增加停车位")]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{sid} 1D", "只有 A–C"),
        ("{sid} 9A", "没有第 9 题"),
        ("{sid} 1AB", "单选题"),
        ("{sid} 1 同意", "选项字母"),
        ("{sid} 3", "写下您的意见"),
        ("{sid} 2+AB", "选项字母"),
    ],
)
def test_bad_answers_get_a_hint_and_change_nothing(world: World, text: str, needle: str) -> None:
    sid = create(world, load("survey.yaml"))
    world.text("u-zhang", f"#征集{sid} 1A")
    out = texts_to(world.text("u-zhang", "#征集" + text.format(sid=sid)), "u-zhang")
    assert needle in out[0]
    assert target(world, sid, world.ids["zhang"]).answers == {"1": ["A"]}


def test_unknown_solicitation_outsider_and_staff(world: World) -> None:
    sid = create(world, load("survey.yaml", audience={"stations": ["S2"]}))
    assert "没有找到编号为 999" in texts_to(world.text("u-zhang", "#征集999 1A"), "u-zhang")[0]
    assert "不在" in texts_to(world.text("u-zhang", f"#征集{sid} 1A"), "u-zhang")[0]
    assert "代表本人" in texts_to(world.text("u-chen", f"#征集{sid} 1A"), "u-chen")[0]
    # the header alone shows the deputy's answers so far
    out = texts_to(world.text("u-wang", f"#征集{sid}"), "u-wang")
    assert "您目前的回答" in out[0]


def test_reminders_reach_only_the_silent_at_working_day_offsets(world: World) -> None:
    sid = create(world, load("survey.yaml"))  # deadline Fri 11-20 17:00, remind 2 and 1 days before
    world.text("u-zhang", f"#征集{sid} 1A 2A")
    world.text("u-li", f"#征集{sid} 1B")  # partial: still reminded
    world.new_outbox()
    world.now = bj(2026, 11, 17, 16, 0)  # Tuesday: nothing due
    assert world.run(solicit.tick) == 0
    world.now = bj(2026, 11, 18, 8, 30)  # Wednesday before 09:00: not yet
    assert world.run(solicit.tick) == 0
    world.now = bj(2026, 11, 18, 9, 30)
    assert world.run(solicit.tick) == 1
    sent = world.new_outbox()
    assert len(sent) == 1 and sent[0].text.startswith("**温馨提醒")
    assert sorted(sent[0].payload["user_ids"]) == ["u-li", "u-sun", "u-wang", "u-zhao"]
    assert world.run(solicit.tick) == 0  # once per offset
    world.text("u-zhao", f"#征集{sid} 1A 2A")
    world.new_outbox()
    world.now = bj(2026, 11, 19, 10, 0)
    assert world.run(solicit.tick) == 1
    assert sorted(world.new_outbox()[0].payload["user_ids"]) == ["u-li", "u-sun", "u-wang"]
    world.now = bj(2026, 11, 20, 17, 0)
    assert world.run(solicit.tick) == 1  # the close
    sol = solicitation(world, sid)
    assert sol.closed_by == "deadline" and sol.closed_at == bj(2026, 11, 20, 17, 0)


def test_reminder_day_skips_weekends_and_holidays(world: World) -> None:
    from datetime import date

    cal = world.ctx().calendar
    assert solicit.reminder_day(cal, date(2026, 11, 23), 1) == date(2026, 11, 20)  # Mon → Fri
    # 2026 National Day: Oct 1–7 off, so 1 working day before Oct 8 is Sep 30
    assert solicit.reminder_day(cal, date(2026, 10, 8), 1) == date(2026, 9, 30)


def test_results_response_rate_by_region_and_station(world: World) -> None:
    sid = create(world, load("survey.yaml"))
    world.text("u-zhang", f"#征集{sid} 1A 2A")
    world.text("u-sun", f"#征集{sid} 1C 2B 3 乡镇道路")
    world.text("u-li", f"#征集{sid} 1A")  # partial: not counted
    with world.sessions() as session:
        res = results(session, sid)
    rates = {(r.level, r.code): (r.answered, r.asked) for r in res.rates}
    assert rates[("total", "")] == (2, 5)
    assert rates[("region", "C")] == (2, 5) and rates[("region", "K")] == (2, 5)
    assert rates[("region", "T")] == (1, 1)
    assert rates[("station", "S1")] == (1, 3) and rates[("station", "S2")] == (0, 1)
    assert rates[("station", "S3")] == (1, 1)
    assert [d[0] for d in res.details] == ["D1", "D5"]


def test_create_refuses_bad_audience_and_past_deadline(world: World) -> None:
    with world.sessions() as session, pytest.raises(LookupError, match="no region"):
        solicit.create(
            session, world.ctx(), parse_spec(load("survey.yaml", audience={"region": "Q"}), BJ)
        )
    past = load("survey.yaml", deadline="2026-11-01 17:00")
    with world.sessions() as session, pytest.raises(ValueError, match="past"):
        solicit.create(session, world.ctx(), parse_spec(past, BJ))


def test_template_card_click_takes_the_same_path(world: World) -> None:
    from handlers.events import CardAction

    sid = create(world, load("survey.yaml"))
    out = world.send(
        CardAction(
            platform="dingtalk",
            user_id="u-zhao",
            platform_id="cb-solicit-1",
            card_id=f"solicit-{sid}",
            action="answer",
            params={"kind": "solicit", "solicitation_id": str(sid), "answer": "1B 2AD"},
            sent_at=world.now,
        )
    )
    assert "已提交" in texts_to(out, "u-zhao")[0]
    assert target(world, sid, world.ids["zhao"]).answers == {"1": ["B"], "2": ["A", "D"]}
    out = world.send(
        CardAction(
            platform="dingtalk",
            user_id="u-zhao",
            platform_id="cb-solicit-2",
            card_id=f"solicit-{sid}",
            action="answer",
            params={"kind": "solicit", "solicitation_id": "x"},
            sent_at=world.now,
        )
    )
    assert "请在编号后写上答案" in texts_to(out, "u-zhao")[0]


def test_a_redelivered_answer_is_recorded_once(world: World) -> None:
    from datetime import timedelta

    from handlers.events import StaffText

    sid = create(world, load("survey.yaml"))
    world.text("u-zhang", f"#征集{sid} 1A 2A")
    event = StaffText(
        platform="dingtalk",
        user_id="u-zhang",
        platform_id="msg-same-1",
        text=f"#征集{sid} 2+B",
        sent_at=world.now,
        reply_webhook="http://127.0.0.1:9/session",
        reply_webhook_expires_at=world.now + timedelta(hours=1),
    )
    first = world.send(event)
    again = world.send(event)  # DingTalk pushes the same message again
    assert len(texts_to(first, "u-zhang")) == 1 and again == []
    row = target(world, sid, world.ids["zhang"])
    assert row.answers == {"1": ["A"], "2": ["A", "B"]} and row.changes == 1
