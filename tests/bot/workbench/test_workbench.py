"""The workbench: DingTalk login (OAuth and 免登), scopes, pages, actions, exports, audit."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import requests
from openpyxl import load_workbook
from sqlalchemy import select

from bot.simulators.dingtalk import DingTalkSimulator
from storage.models import AuditEntry, Case, Constituent, Message, WebSession
from tests.bot.workbench.conftest import Browser
from tests.handlers.world import World


def _cases(world: World) -> dict[str, int]:
    """One case at each station: S1 (城南), S2 (城北) and the township's S3 (新坝)."""
    world.enter("s1", who="wm-a")
    world.say("小区门口路灯坏了一个月了，我电话13912345678", who="wm-a")
    s1 = world.last_case_id()
    world.enter("s2", who="wm-b")
    world.say("菜市场门口的井盖松了", who="wm-b")
    s2 = world.last_case_id()
    with world.sessions() as session, session.begin():
        person = Constituent(channel="wecom_kf", external_id="wm-c", sends_since_inbound=0)
        session.add(person)
        session.flush()
        town = Case(
            status="assigned",
            constituent_id=person.id,
            station_id=world.ids["s3"],
            region_id=world.ids["town"],
            text="村口的桥栏杆断了",
            created_at=world.now,
        )
        session.add(town)
        session.flush()
        s3 = town.id
    return {"s1": s1, "s2": s2, "s3": s3}


def _audit(world: World) -> list[tuple[str, str, str]]:
    with world.sessions() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.person_name, r.action, r.target) for r in rows]


def test_oauth_login_through_the_simulator(browser: Browser, world: World) -> None:
    assert browser.client.get("/workbench/").status_code == 302  # not logged in → login page
    assert browser.login("u-liu") == "/workbench/"
    page = browser.client.get("/workbench/").get_data(as_text=True)
    assert "刘洋（人大办公室）" in page and "海州区" in page and "及时答复率" in page


def test_a_stranger_is_refused_politely(browser: Browser, world: World) -> None:
    landed = browser.login("u-out")
    assert landed == "/workbench/login?failed=unknown"
    page = browser.client.get(landed).get_data(as_text=True)
    assert "您不在本平台的代表或工作人员名单中" in page
    assert browser.client.get("/workbench/cases").status_code == 302


def test_callback_with_a_foreign_state_is_refused(browser: Browser, world: World) -> None:
    browser.client.get("/workbench/auth/start")
    res = browser.client.get("/workbench/auth/callback?authCode=x&state=forged")
    assert res.headers["Location"].endswith("/workbench/login?failed=state")


def test_mianden_inside_dingtalk(browser: Browser, sim: DingTalkSimulator, world: World) -> None:
    code = requests.post(
        sim.endpoint + "/_sim/login/mianden_code", json={"user_id": "u-zhang"}, timeout=5
    ).json()["code"]
    res = browser.client.post("/workbench/auth/mianden", json={"code": code})
    assert res.status_code == 200 and res.get_json()["ok"] is True
    assert "张伟（代表）" in browser.client.get("/workbench/").get_data(as_text=True)
    again = browser.client.post("/workbench/auth/mianden", json={"code": code})  # single use
    assert again.status_code == 403


def test_scopes_per_role(browser: Browser, world: World, app: object) -> None:
    ids = _cases(world)
    expected = {
        "u-zhang": {ids["s1"]},  # deputy of S1
        "u-chen": {ids["s1"]},  # station staff of S1
        "u-liu": {ids["s1"], ids["s2"], ids["s3"]},  # county office: township included
        "u-wu": {ids["s3"]},  # township station staff
        "u-admin": {ids["s1"], ids["s2"], ids["s3"]},
    }
    for user, visible in expected.items():
        b = Browser(browser.client.application.test_client(), browser.sim)
        b.login(user)
        listing = b.client.get("/workbench/cases").get_data(as_text=True)
        for number in ids.values():
            detail = b.client.get(f"/workbench/cases/{number}")
            shown = f"#{number}</a>" in listing
            if number in visible:
                assert detail.status_code == 200 and shown, (user, number)
            else:
                assert detail.status_code == 403 and not shown, (user, number)
                assert "无权访问" in detail.get_data(as_text=True)


def test_refused_actions_and_csrf_change_nothing(browser: Browser, world: World) -> None:
    ids = _cases(world)
    browser.login("u-chen")  # staff of S1 only
    token = browser.csrf()
    before = world.case(ids["s2"]).status
    res = browser.client.post(
        f"/workbench/cases/{ids['s2']}/action",
        data={"csrf": token, "verb": "close", "arg": "越权"},
    )
    assert res.status_code == 403 and world.case(ids["s2"]).status == before
    no_csrf = browser.client.post(
        f"/workbench/cases/{ids['s1']}/action", data={"verb": "close", "arg": "无令牌"}
    )
    assert no_csrf.status_code == 403 and world.case(ids["s1"]).status != "closed"
    assert browser.client.post("/workbench/export/cases.xlsx", data={}).status_code == 403
    refused = [a for a in _audit(world) if a[1] == "refused"]
    assert len(refused) == 3


def test_staff_reassigns_through_the_same_handlers(browser: Browser, world: World) -> None:
    ids = _cases(world)
    browser.login("u-chen")
    token = browser.csrf()
    res = browser.client.post(
        f"/workbench/cases/{ids['s1']}/action",
        data={"csrf": token, "verb": "reassign", "arg": "赵敏"},
    )
    assert res.status_code == 302
    page = browser.client.get(res.headers["Location"]).get_data(as_text=True)
    case = world.case(ids["s1"])
    assert case.assignee_deputy_id == world.ids["zhao"]
    assert "赵" in page and 'id="action-notice"' in page
    assert any(e.action == "reassign" for e in world.events(ids["s1"]))


def test_an_invalid_transition_is_explained(browser: Browser, world: World) -> None:
    ids = _cases(world)
    browser.login("u-chen")
    token = browser.csrf()
    browser.client.post(
        f"/workbench/cases/{ids['s1']}/action", data={"csrf": token, "verb": "close", "arg": "已修"}
    )
    res = browser.client.post(
        f"/workbench/cases/{ids['s1']}/action",
        data={"csrf": token, "verb": "reject", "arg": "重复"},
    )
    page = browser.client.get(res.headers["Location"]).get_data(as_text=True)
    assert world.case(ids["s1"]).status == "closed"
    assert 'id="action-notice"' in page


def test_photo_on_the_case_page(
    browser: Browser, other_browser: Browser, world: World, rt: object
) -> None:
    ids = _cases(world)
    media = world_media = None
    from bot.runtime import Runtime

    assert isinstance(rt, Runtime)
    folder = rt.settings.var_dir / "media" / "kf"
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff fake jpeg bytes")
    with world.sessions() as session, session.begin():
        msg = Message(
            direction="in",
            channel="wecom_kf",
            platform_id="kf-photo-1",
            case_id=ids["s1"],
            kind="image",
            media_path=str(photo),
            created_at=world.now,
        )
        session.add(msg)
        session.flush()
        media = msg.id
    browser.login("u-zhang")
    page = browser.client.get(f"/workbench/cases/{ids['s1']}").get_data(as_text=True)
    assert f'src="/workbench/media/{media}"' in page
    assert browser.client.get(f"/workbench/media/{media}").data == photo.read_bytes()
    other_browser.login("u-wu")  # another station: neither the page nor the picture
    assert other_browser.client.get(f"/workbench/media/{media}").status_code == 403
    assert world_media is None


def test_non_handlers_read_masked_text(browser: Browser, world: World) -> None:
    ids = _cases(world)
    browser.login("u-zhang")  # handles S1
    assert "13912345678" in browser.client.get(f"/workbench/cases/{ids['s1']}").get_data(
        as_text=True
    )
    office = Browser(browser.client.application.test_client(), browser.sim)
    office.login("u-liu")  # sees the county, does not handle the case
    page = office.client.get(f"/workbench/cases/{ids['s1']}").get_data(as_text=True)
    assert "13912345678" not in page and "139****5678" in page


def test_exports_are_masked_scoped_and_audited(browser: Browser, world: World) -> None:
    ids = _cases(world)
    browser.login("u-zhang")
    res = browser.client.post("/workbench/export/cases.xlsx", data={"csrf": browser.csrf()})
    assert res.status_code == 200
    wb = load_workbook(io.BytesIO(res.data))
    rows = list(wb["诉求"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [ids["s1"]]
    assert "13912345678" not in str(rows) and "139****5678" in str(rows)
    assert "说明" in wb.sheetnames
    stats = browser.client.get("/workbench/export/stats.xlsx?by=station")
    assert stats.status_code == 200
    actions = [(a[1], a[2]) for a in _audit(world)]
    assert ("export_cases", "cases.xlsx") in actions
    assert any(a == "export_stats" for a, _ in actions)


def test_case_views_are_audited_and_visible_to_admins(browser: Browser, world: World) -> None:
    ids = _cases(world)
    browser.login("u-liu")
    browser.client.get(f"/workbench/cases/{ids['s2']}")
    assert browser.client.get("/workbench/audit").status_code == 403  # not an admin
    admin = Browser(browser.client.application.test_client(), browser.sim)
    admin.login("u-admin")
    page = admin.client.get("/workbench/audit").get_data(as_text=True)
    assert f"case:{ids['s2']}" in page and "刘洋" in page and "view_case" in page


def test_idle_sessions_log_out_and_logout_forgets(browser: Browser, world: World) -> None:
    browser.login("u-liu")
    assert browser.client.get("/workbench/").status_code == 200
    with world.sessions() as session, session.begin():
        for row in session.scalars(select(WebSession)):
            row.last_seen_at = row.last_seen_at - timedelta(minutes=31)
    assert browser.client.get("/workbench/").status_code == 302
    browser.login("u-liu")
    browser.client.post("/workbench/logout", data={"csrf": browser.csrf("/workbench/")})
    assert browser.client.get("/workbench/").status_code == 302
    with world.sessions() as session:
        assert session.scalars(select(WebSession)).all() == []


def test_security_headers_and_cookie_flags(browser: Browser, world: World) -> None:
    res = browser.client.get("/workbench/login")
    csp = res.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert res.headers["X-Frame-Options"] == "DENY"
    start = browser.client.get("/workbench/auth/start")
    assert (
        "HttpOnly" in start.headers["Set-Cookie"] and "SameSite=Lax" in start.headers["Set-Cookie"]
    )


def test_login_is_rate_limited(browser: Browser, world: World) -> None:
    codes = [browser.client.get("/workbench/auth/start").status_code for _ in range(12)]
    assert codes[:10] == [302] * 10 and codes[-1] == 429


def test_stats_page_region_outside_scope_is_refused(browser: Browser, world: World) -> None:
    browser.login("u-wu")  # township station staff
    assert browser.client.get("/workbench/?region=K").status_code == 403
    assert browser.client.get("/workbench/export/stats.xlsx?region=K").status_code == 403
    assert browser.client.get("/workbench/").status_code == 200


def test_dingtalk_client_gets_the_jsapi_and_browsers_do_not(browser: Browser, world: World) -> None:
    inside = browser.client.get(
        "/workbench/login", headers={"User-Agent": "Mozilla/5.0 DingTalk/7.0.50"}
    ).get_data(as_text=True)
    outside = browser.client.get("/workbench/login").get_data(as_text=True)
    assert "dingtalk.open.js" in inside and "dingtalk.open.js" not in outside
    assert 'data-client="dingworkbenchtest"' in inside


def test_category_correction_and_cosign_from_the_page(browser: Browser, world: World) -> None:
    ids = _cases(world)
    world.say("新问题 小区门口那盏路灯还是不亮", who="wm-a")
    second = world.last_case_id()
    browser.login("u-chen")
    token = browser.csrf()
    browser.client.post(
        f"/workbench/cases/{ids['s1']}/action",
        data={"csrf": token, "verb": "categorise", "arg": "停车"},
    )
    case = world.case(ids["s1"])
    assert (case.category, case.category_source) == ("停车", "corrected")
    res = browser.client.post(
        f"/workbench/cases/{second}/action",
        data={"csrf": token, "verb": "cosign", "arg": str(ids["s1"])},
    )
    assert res.status_code == 302
    merged = world.case(second)
    assert (merged.status, merged.merged_into_id) == ("merged", ids["s1"])
    page = browser.client.get(f"/workbench/cases/{ids['s1']}").get_data(as_text=True)
    assert f"#{second}</a>" in page and "附议" in page
    browser.client.post(
        f"/workbench/cases/{second}/action", data={"csrf": token, "verb": "uncosign"}
    )
    assert world.case(second).status != "merged"


def test_hotspots_page_for_the_office_only(browser: Browser, world: World) -> None:
    _cases(world)
    browser.login("u-liu")
    page = browser.client.get("/workbench/hotspots?week=2026-W47")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "热点专报：海州区 2026-W47" in html and 'id="brief-cases">3<' in html
    station = Browser(browser.client.application.test_client(), browser.sim)
    station.login("u-chen")
    assert station.client.get("/workbench/hotspots").status_code == 403


def test_category_choices_follow_the_configured_set(browser: Browser, world: World) -> None:
    from handlers.insight.category_set import CategoryChange, build_set, use
    from tests.handlers.insight.test_category_set import FIRE, _fire_examples

    ids = _cases(world)
    use(
        build_set(
            remove=["违章搭建"],
            rename={"停车": "停车管理"},
            add=[CategoryChange(FIRE, {}, tuple(_fire_examples()))],
        )
    )
    try:
        browser.login("u-chen")
        page = browser.client.get(f"/workbench/cases/{ids['s1']}").get_data(as_text=True)
        assert f'<option value="{FIRE}"' in page and '<option value="停车管理"' in page
        assert '<option value="违章搭建"' not in page and '<option value="停车"' not in page
        res = browser.client.post(
            f"/workbench/cases/{ids['s1']}/action",
            data={"csrf": browser.csrf(), "verb": "categorise", "arg": "违章搭建"},
        )
        notice = parse_qs(urlparse(res.headers["Location"]).query)["notice"][0]
        assert "没有「违章搭建」这个分类" in notice and FIRE in notice and "停车管理" in notice
        with world.sessions() as session, session.begin():
            case = session.get(Case, ids["s1"])
            assert case is not None
            case.category, case.category_source = "违章搭建", "model"  # from before the change
        page = browser.client.get(f"/workbench/cases/{ids['s1']}").get_data(as_text=True)
        assert "违章搭建（已停用）" in page
        listing = browser.client.get("/workbench/cases").get_data(as_text=True)
        assert "<td>违章搭建（已停用）</td>" in listing
    finally:
        use(None)
