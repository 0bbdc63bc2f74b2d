"""Meetings: 报名, 请假 with reason, 签到 inside the window only, attendance; 阅文 receipts."""

from __future__ import annotations

from datetime import datetime

import pytest

from handlers.duties import meeting, reading, record, solicit
from handlers.duties.spec import SpecError
from tests.handlers.duties.helpers import BJ, load
from tests.handlers.world import World, bj, texts_to


def _create(world: World, consume: bool = True, **changes: object) -> tuple[int, str, int]:
    """(meeting id, the QR code's text, the attached document's id)."""
    with world.sessions() as session, session.begin():
        m = meeting.create(
            session, world.ctx(), meeting.parse_meeting(load("meeting.yaml", **changes), BJ)
        )
        qr = meeting.checkin_text(m)
        [doc] = meeting.documents_of(session, m.id)
        ids = (m.id, qr, doc.id)
    if consume:
        world.new_outbox()
    return ids


def _status(world: World, mid: int) -> dict[str, tuple[str, str, str]]:
    with world.sessions() as session:
        _m, rows = meeting.attendance(session, mid)
    return {r.deputy_name: (r.status, r.reason, r.via) for r in rows}


def test_notice_registration_leave_and_attendance(world: World) -> None:
    world.new_outbox()
    mid, _qr, doc_id = _create(world, consume=False)
    [notice] = world.new_outbox()
    assert sorted(notice.payload["user_ids"]) == ["u-li", "u-zhang", "u-zhao"]
    assert "报名参加" in notice.text and f"%23%E9%98%85%E6%96%87{doc_id}" in notice.text
    assert "已为您报名" in texts_to(world.text("u-zhang", f"#会议{mid} 报名"), "u-zhang")[0]
    assert "请写明请假理由" in texts_to(world.text("u-li", f"#会议{mid} 请假"), "u-li")[0]
    assert "已收到您" in texts_to(world.text("u-li", f"#会议{mid} 请假 外出调研"), "u-li")[0]
    assert "不在" in texts_to(world.text("u-wang", f"#会议{mid} 报名"), "u-wang")[0]
    assert "没有找到" in texts_to(world.text("u-zhang", "#会议999 报名"), "u-zhang")[0]
    assert _status(world, mid) == {
        "张伟": ("registered", "", ""),
        "李娜": ("excused", "外出调研", ""),
        "赵敏": ("invited", "", ""),
    }
    # the day before, everyone but the excused is reminded, once
    world.now = bj(2026, 11, 17, 8, 59)  # the day before, from 09:00
    world.new_outbox()
    assert world.run(solicit.tick) == 0
    world.now = bj(2026, 11, 17, 9, 1)
    assert world.run(solicit.tick) == 1
    [reminder] = world.new_outbox()
    assert sorted(reminder.payload["user_ids"]) == ["u-zhang", "u-zhao"]
    assert world.run(solicit.tick) == 0
    # once the meeting began, 报名 and 请假 are closed
    world.now = bj(2026, 11, 18, 9, 5)
    assert "已截止" in texts_to(world.text("u-zhao", f"#会议{mid} 请假 临时有事"), "u-zhao")[0]


def test_checkin_inside_the_window_only_with_the_venue_code(world: World) -> None:
    mid, qr, _doc = _create(world)
    world.now = bj(2026, 11, 18, 8, 20)  # 40 minutes early: refused
    assert "现在不能签到" in texts_to(world.text("u-zhang", qr), "u-zhang")[0]
    world.now = bj(2026, 11, 18, 8, 45)
    assert "请在会场扫描" in texts_to(world.text("u-zhang", f"#签到{mid} 0000"), "u-zhang")[0]
    assert "请在会场扫描" in texts_to(world.text("u-zhang", f"#会议{mid} 签到"), "u-zhang")[0]
    assert "签到成功" in texts_to(world.text("u-zhang", qr), "u-zhang")[0]
    assert "无需重复" in texts_to(world.text("u-zhang", qr), "u-zhang")[0]
    world.now = bj(2026, 11, 18, 11, 31)  # after the end: refused
    assert "现在不能签到" in texts_to(world.text("u-li", qr), "u-li")[0]
    with world.sessions() as session:
        _m, rows = meeting.attendance(session, mid)
    checked = {r.deputy_name: r.checked_in_at for r in rows}
    assert checked == {"张伟": bj(2026, 11, 18, 8, 45), "李娜": None, "赵敏": None}


def test_button_checkin_when_staff_allow_it(world: World) -> None:
    mid, _qr, _doc = _create(world, button_checkin=True)
    world.now = bj(2026, 11, 18, 10, 0)
    assert "签到成功" in texts_to(world.text("u-li", f"#会议{mid} 签到"), "u-li")[0]
    assert _status(world, mid)["李娜"][2] == "button"


def test_read_receipts_and_reminders(world: World) -> None:
    with world.sessions() as session, session.begin():
        spec = reading.parse_document(
            {"title": "关于做好年度述职的通知", "url": "https://example.invalid/n.pdf",
             "audience": {"stations": ["S1"]}, "remind_days": 1}
        )  # fmt: skip
        doc_id = reading.send_document(session, world.ctx(), spec).id
    [card] = world.new_outbox()
    assert "阅文" in card.payload["title"] and len(card.payload["user_ids"]) == 3
    out = texts_to(world.text("u-zhang", f"#阅文{doc_id}"), "u-zhang")[0]
    assert "https://example.invalid/n.pdf" in out and "已阅" in out
    world.tick(minutes=5)
    assert "已确认阅读" in texts_to(world.text("u-zhang", f"#阅文{doc_id} 已阅"), "u-zhang")[0]
    world.text("u-li", f"#阅文{doc_id}")  # opened, not confirmed
    assert "没有找到" in texts_to(world.text("u-wang", f"#阅文{doc_id} 已阅"), "u-wang")[0]
    with world.sessions() as session:
        _doc, rows = reading.receipts(session, doc_id)
    got = {r.deputy_name: (r.opened_at is not None, r.confirmed_at is not None) for r in rows}
    assert got == {"张伟": (True, True), "李娜": (True, False), "赵敏": (False, False)}
    world.new_outbox()
    world.now = bj(2026, 11, 17, 9, 59)  # one working day after Monday 10:00: not yet
    assert world.run(solicit.tick) == 0
    world.now = bj(2026, 11, 17, 10, 1)
    assert world.run(solicit.tick) == 1
    [reminder] = world.new_outbox()
    assert sorted(reminder.payload["user_ids"]) == ["u-li", "u-zhao"]


def test_meeting_and_reading_in_the_archive(world: World) -> None:
    mid, qr, doc_id = _create(world)
    world.text("u-li", f"#会议{mid} 请假 外出调研")
    world.text("u-zhang", f"#阅文{doc_id} 已阅")
    world.now = bj(2026, 11, 18, 9, 0)
    world.text("u-zhang", qr)
    with world.sessions() as session:
        found = record.archives(session, 2026, record.points_table({}))
    zhang = [(e.key, e.points) for e in found[world.ids["zhang"]].entries]
    li = [(e.key, e.detail) for e in found[world.ids["li"]].entries]
    assert zhang == [("document_read", 0.5), ("meeting_attended", 2.0)]
    assert li == [("meeting_excused", f"代表联络站季度活动（会议 {mid}）：外出调研")]


def test_bad_meeting_files() -> None:
    with pytest.raises(SpecError, match="ends after starts"):
        meeting.parse_meeting(load("meeting.yaml", ends="2026-11-18 08:00"), BJ)
    with pytest.raises(SpecError, match="audience"):
        meeting.parse_meeting(load("meeting.yaml", audience=None), BJ)
    assert meeting.parse_meeting(load("meeting.yaml"), BJ).starts_at == datetime(
        2026, 11, 18, 9, 0, tzinfo=BJ
    )
