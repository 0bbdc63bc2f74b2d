"""意见征集 end to end through the DingTalk simulator: `lianxin solicit create` → cards in each
deputy's 1:1 chat → answers typed or tapped (dtmd links) over the real Stream SDK → change →
late refusal → reminders only to the silent → `lianxin solicit results --xlsx`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot import runtime as runtime_mod
from bot.cli import main
from bot.duties_jobs import run_duties
from bot.runtime import CLOCK_OFFSET_KEY, Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from handlers.duties.results import results
from storage.models import Deputy, DeputyStation, InboxItem, KeyValue, SolicitTarget
from storage.timeutil import utcnow
from tests.bot.dingtalk.conftest import Directory, StartStream, service_env, wait_until
from tests.support import drain

BJ = ZoneInfo("Asia/Shanghai")
FIXTURE = Path(__file__).parents[2] / "fixtures" / "duties" / "survey.yaml"


def set_clock(rt: Runtime, when: datetime) -> None:
    """Move the service clock (as the sandbox's 快进 does)."""
    offset = str((when - utcnow()).total_seconds())
    with rt.sessions.begin() as s:
        row = s.get(KeyValue, CLOCK_OFFSET_KEY)
        if row is None:
            s.add(KeyValue(key=CLOCK_OFFSET_KEY, value=offset))
        else:
            row.value = offset


def lianxin(rt: Runtime, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """Run the `lianxin` command in-process against this test's database, Redis and simulator."""
    for key, value in service_env(rt).items():
        if key.startswith("LIANXIN_"):
            monkeypatch.setenv(key, value)
    try:
        return main(list(argv))
    finally:
        runtime_mod.install(rt)  # the command installed its own runtime


def robot_texts(sim: DingTalkSimulator, user: str) -> list[str]:
    """Every robot message in the user's 1:1 chat (markdown cards and replies)."""
    out = []
    for e in sim.private_view(user):
        if e["sender"] == "robot":
            body: dict[str, Any] = e.get("body") or {}
            out.append(str(body.get("text") or e.get("text") or ""))
    return out


def settle(rt: Runtime, inbound: int) -> None:
    """Wait until `inbound` bot messages are recorded, then run every job."""

    def done() -> bool:
        drain(rt)
        with rt.sessions() as s:
            rows = list(s.scalars(select(InboxItem).where(InboxItem.source == "dingtalk_bot")))
        return len(rows) >= inbound and all(r.status == "done" for r in rows)

    wait_until(done, timeout=10, what=f"{inbound} bot messages handled")
    drain(rt)


def test_solicitation_end_to_end(
    rt: Runtime,
    sim: DingTalkSimulator,
    directory: Directory,
    start_stream: StartStream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim.add_user("u-zhao", "赵敏")
    with rt.sessions.begin() as s:
        zhao = Deputy(code="D3", name="赵敏", dingtalk_user_id="u-zhao")
        s.add(zhao)
        s.flush()
        s.add(DeputyStation(deputy_id=zhao.id, station_id=directory.station_id))
    set_clock(rt, datetime(2026, 11, 16, 10, 0, tzinfo=BJ))
    assert lianxin(rt, monkeypatch, "solicit", "create", str(FIXTURE)) == 0
    assert "for 3 deputies in 1 batches" in capsys.readouterr().out
    drain(rt)
    with rt.sessions() as s:
        sid = int(s.scalar(select(SolicitTarget.solicitation_id).limit(1)) or 0)
    for user in ("u-zhang", "u-li", "u-zhao"):  # every deputy of the region, exactly once
        cards = [t for t in robot_texts(sim, user) if "意见征集】" in t]
        assert len(cards) == 1, user
        assert quote(f"#征集{sid} 1A", safe="") in cards[0]
    assert not [t for t in robot_texts(sim, "u-chen") if "意见征集" in t]  # staff are not asked

    start_stream()
    sim.user_sends_private_text("u-zhang", f"#征集{sid} 1A 2AC 3 建议明确停车位归属")
    sim.user_sends_private_text("u-li", f"#征集{sid} 1B")  # tapping the card's links
    settle(rt, 2)
    sim.user_sends_private_text("u-li", f"#征集{sid} 2+D")
    settle(rt, 3)
    assert "已提交" in robot_texts(sim, "u-zhang")[-1]
    assert "已提交" in robot_texts(sim, "u-li")[-1]
    sim.user_sends_private_text("u-li", f"#征集{sid} 1C")  # she changes her answer
    settle(rt, 4)
    assert "已修改并提交" in robot_texts(sim, "u-li")[-1]

    # reminders two working days before the Friday deadline reach only the silent deputy
    set_clock(rt, datetime(2026, 11, 18, 9, 30, tzinfo=BJ))
    assert run_duties() == "duties: 1"
    drain(rt)
    for user, count in (("u-zhao", 1), ("u-zhang", 0), ("u-li", 0)):
        assert sum(t.startswith("**温馨提醒") for t in robot_texts(sim, user)) == count, user

    # after the deadline a late answer is refused politely and nothing changes
    set_clock(rt, datetime(2026, 11, 20, 17, 1, tzinfo=BJ))
    sim.user_sends_private_text("u-zhao", f"#征集{sid} 1A 2B")
    settle(rt, 5)
    assert "未能记录" in robot_texts(sim, "u-zhao")[-1]
    assert run_duties() == "duties: 1"  # the close

    xlsx = tmp_path / "results.xlsx"
    assert lianxin(rt, monkeypatch, "solicit", "results", str(sid), "--xlsx", str(xlsx)) == 0
    out = capsys.readouterr().out
    assert "A. 赞成: 1" in out and "C. 不赞成: 1" in out and "建议明确停车位归属" in out
    assert "合计: 2/3 = 66.7%" in out and "联络站 S1 城南联络站: 2/3" in out
    with rt.sessions() as s:
        res = results(s, sid)
    assert res.counts == {1: {"A": 1, "B": 0, "C": 1}, 2: {"A": 1, "B": 0, "C": 1, "D": 1}}
    wb = load_workbook(xlsx)
    counted = {(r[0], r[2]): r[4] for r in wb["选项统计"].iter_rows(min_row=2, values_only=True)}
    assert counted == {(n, k): v for n, c in res.counts.items() for k, v in c.items()}
    rates = [r for r in wb["回复率"].iter_rows(min_row=2, values_only=True)]
    assert rates[0][3:] == (3, 2, 66.67)
    texts = list(wb["文字意见"].iter_rows(min_row=2, values_only=True))
    assert texts == [(3, "D1", "张伟", "城南联络站", "建议明确停车位归属")]
    detail = {r[0]: r[3:] for r in wb["明细"].iter_rows(min_row=2, values_only=True)}
    assert detail == {"D1": ("A", "AC", "建议明确停车位归属"), "D2": ("C", "D", None)}


def test_secret_vote_over_the_stream_leaves_no_choice_beside_a_deputy(
    rt: Runtime,
    sim: DingTalkSimulator,
    directory: Directory,
    start_stream: StartStream,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    set_clock(rt, datetime(2026, 11, 16, 10, 0, tzinfo=BJ))
    vote_file = FIXTURE.with_name("vote.yaml")
    assert lianxin(rt, monkeypatch, "solicit", "create", str(vote_file)) == 0
    capsys.readouterr()
    drain(rt)
    with rt.sessions() as s:
        sid = int(s.scalar(select(SolicitTarget.solicitation_id).limit(1)) or 0)
    [card] = [t for t in robot_texts(sim, "u-zhang") if "无记名投票】" in t]
    assert quote(f"#投票{sid} 1B", safe="") in card
    start_stream()
    sim.user_sends_private_text("u-zhang", f"#投票{sid} 1B")
    sim.user_sends_private_text("u-li", f"#投票{sid} 1A")
    settle(rt, 2)
    sim.user_sends_private_text("u-zhang", f"#投票{sid} 1C")  # a second ballot
    settle(rt, 3)
    assert "只能投一次" in robot_texts(sim, "u-zhang")[-1]
    assert lianxin(rt, monkeypatch, "solicit", "results", str(sid)) == 0
    assert "(counted at the close)" in capsys.readouterr().out  # no tally before the close
    assert lianxin(rt, monkeypatch, "solicit", "close", str(sid)) == 0
    assert lianxin(rt, monkeypatch, "solicit", "results", str(sid)) == 0
    out = capsys.readouterr().out
    assert "A. 关于老旧小区加装电梯的建议: 1" in out and "B. 关于农村道路养护的建议: 1" in out
    assert "C. 关于学校周边交通的建议: 0" in out
    with rt.sessions() as s:
        payloads = [i.payload for i in s.scalars(select(InboxItem))]
    assert len(payloads) == 3 and all("投票" not in p and "1B" not in p for p in payloads)


def test_meeting_over_the_stream_and_the_cli(
    rt: Runtime,
    sim: DingTalkSimulator,
    directory: Directory,
    start_stream: StartStream,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from handlers.duties import meeting
    from storage.models import Meeting

    set_clock(rt, datetime(2026, 11, 16, 10, 0, tzinfo=BJ))
    assert (
        lianxin(rt, monkeypatch, "meeting", "create", str(FIXTURE.with_name("meeting.yaml"))) == 0
    )
    with rt.sessions() as s:
        mid = int(s.scalar(select(Meeting.id)) or 0)
    png = tmp_path / "checkin.png"
    assert lianxin(rt, monkeypatch, "meeting", "qrcode", str(mid), "--out", str(png)) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    drain(rt)
    assert any("会议通知】" in t for t in robot_texts(sim, "u-li"))
    with rt.sessions() as s:
        m = s.get(Meeting, mid)
        assert m is not None
        code = meeting.checkin_text(m)
    start_stream()
    sim.user_sends_private_text("u-zhang", f"#会议{mid} 报名")
    sim.user_sends_private_text("u-li", f"#会议{mid} 请假 参加市里培训")
    settle(rt, 2)
    set_clock(rt, datetime(2026, 11, 18, 8, 50, tzinfo=BJ))
    sim.user_sends_private_text("u-zhang", code)  # scanned at the venue
    settle(rt, 3)
    set_clock(rt, datetime(2026, 11, 18, 12, 0, tzinfo=BJ))
    sim.user_sends_private_text("u-li", code)  # after the end: refused
    settle(rt, 4)
    assert "签到成功" in robot_texts(sim, "u-zhang")[-1]
    assert "现在不能签到" in robot_texts(sim, "u-li")[-1]
    assert lianxin(rt, monkeypatch, "meeting", "attendance", str(mid)) == 0
    out = capsys.readouterr().out
    assert "D1 张伟 城南联络站 已报名 签到 11月18日 08:50 (qr)" in out
    assert "D2 李娜 城南联络站 请假 理由：参加市里培训 未签到" in out
    assert "invited 2, checked in 1, excused 1" in out
