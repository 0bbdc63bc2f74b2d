"""会场签到 on the H5 page the venue's QR code opens: 免登 through the simulator, the same rules
as the text command (inside the window once, outside refused, only the invited), tokens
unguessable, and a login that comes back to the page."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import requests
from sqlalchemy import select

from bot.simulators.dingtalk import DingTalkSimulator
from handlers.context import HandlerContext
from handlers.duties import meeting
from storage.models import AuditEntry, Meeting, MeetingAttendee
from storage.timeutil import utcnow
from tests.bot.workbench.conftest import Browser
from tests.handlers.world import World


def _meeting(world: World, starts_in: timedelta) -> tuple[int, str]:
    """A meeting of S1's deputies starting `starts_in` from now (2 hours long)."""
    now = utcnow()
    spec = meeting.MeetingSpec(
        title="代表联络站季度活动",
        place="城南联络站二楼会议室",
        agenda="",
        starts_at=now + starts_in,
        ends_at=now + starts_in + timedelta(hours=2),
        audience={"stations": ["S1"]},
        documents=(),
        button_checkin=False,
    )
    with world.sessions() as session, session.begin():
        m = meeting.create(session, HandlerContext(now=now), spec)
        return m.id, m.checkin_token


def _mianden(browser: Browser, sim: DingTalkSimulator, user_id: str) -> None:
    code = requests.post(
        sim.endpoint + "/_sim/login/mianden_code", json={"user_id": user_id}, timeout=5
    ).json()["code"]
    assert browser.client.post("/workbench/auth/mianden", json={"code": code}).status_code == 200


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def _attendee(world: World, mid: int, deputy: str) -> MeetingAttendee:
    with world.sessions() as session:
        row = session.scalars(
            select(MeetingAttendee).where(
                MeetingAttendee.meeting_id == mid,
                MeetingAttendee.deputy_id == world.ids[deputy],
            )
        ).one()
        session.expunge(row)
        return row


def test_scan_open_login_and_check_in_once(
    browser: Browser, sim: DingTalkSimulator, world: World
) -> None:
    mid, token = _meeting(world, timedelta(minutes=10))  # the window opened 20 minutes ago
    page = browser.client.get(f"/workbench/checkin/{token}")  # scanned, not logged in yet
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "代表联络站季度活动" in html
    assert f'data-next="/workbench/checkin/{token}"' in html  # 免登 comes back here
    here = quote(f"http://localhost/workbench/checkin/{token}", safe="")
    assert f"dingtalk://dingtalkclient/page/link?url={here}" in html
    assert browser.client.post(f"/workbench/checkin/{token}").status_code == 302  # login first

    _mianden(browser, sim, "u-zhang")
    html = browser.client.get(f"/workbench/checkin/{token}").get_data(as_text=True)
    assert ">签到</button>" in html
    done = browser.client.post(f"/workbench/checkin/{token}", data={"csrf": _csrf(html)})
    assert "签到成功" in done.get_data(as_text=True)
    row = _attendee(world, mid, "zhang")
    assert row.checked_in_at is not None and row.checkin_via == "h5"
    again = browser.client.post(f"/workbench/checkin/{token}", data={"csrf": _csrf(html)})
    assert "无需重复签到" in again.get_data(as_text=True)
    assert _attendee(world, mid, "zhang").checked_in_at == row.checked_in_at
    assert browser.client.post(f"/workbench/checkin/{token}", data={}).status_code == 403
    with world.sessions() as session:
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "checkin")).all()


def test_outside_the_window_uninvited_and_unknown_codes_are_refused(
    browser: Browser, other_browser: Browser, sim: DingTalkSimulator, world: World
) -> None:
    later, token = _meeting(world, timedelta(hours=3))
    _mianden(browser, sim, "u-zhang")
    html = browser.client.get(f"/workbench/checkin/{token}").get_data(as_text=True)
    res = browser.client.post(f"/workbench/checkin/{token}", data={"csrf": _csrf(html)})
    assert "现在不能签到" in res.get_data(as_text=True)
    assert _attendee(world, later, "zhang").checked_in_at is None

    _, open_token = _meeting(world, timedelta(minutes=5))
    _mianden(other_browser, sim, "u-wang")  # a deputy of S2, not invited
    html = other_browser.client.get(f"/workbench/checkin/{open_token}").get_data(as_text=True)
    assert "不在本次会议的参会名单中" in html and ">签到</button>" not in html

    assert browser.client.get("/workbench/checkin/0123456789abcdef").status_code == 404
    assert browser.client.get(f"/workbench/checkin/{token[:-1]}").status_code == 404
    with world.sessions() as session:
        assert session.get(Meeting, later) is not None


def test_the_qr_login_returns_only_inside_the_workbench(browser: Browser, world: World) -> None:
    start = browser.client.get("/workbench/auth/start?next=/workbench/checkin/abc")
    cookies = start.headers.getlist("Set-Cookie")
    assert any("lianxin_wb_next=/workbench/checkin/abc" in h for h in cookies)
    evil = browser.client.get("/workbench/auth/start?next=https://evil.example/x")
    assert not any("lianxin_wb_next" in h for h in evil.headers.getlist("Set-Cookie"))
