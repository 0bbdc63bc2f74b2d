"""The admin pages 名册 and 设置: admins only, CSRF on every POST, imports previewed, confirmed."""

from __future__ import annotations

import io
import logging
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from handlers.routing import on_duty
from storage.models import AuditEntry, CalendarYear, Deputy, DeputyStation, Leave
from tests.bot.workbench.conftest import APP_SECRET, Browser
from tests.handlers.world import World

EXAMPLES = Path(__file__).parents[3] / "bot" / "examples"
GET_ROUTES = [
    "/workbench/admin/directory",
    "/workbench/admin/directory/import",
    "/workbench/admin/settings",
]
POST_ROUTES = [
    "/workbench/admin/directory",
    "/workbench/admin/directory/import",
    "/workbench/admin/directory/import/confirm",
    "/workbench/admin/settings/calendar",
    "/workbench/admin/settings/calendar/confirm",
]


def _xlsx(rows: list[list[object]]) -> bytes:
    """An office roster as Excel keeps it: a title row above the header."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["海州区人大代表名单"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD_ROSTER = [
    ["序号", "编号", "姓名", "钉钉账号", "手机号码", "所属联络站"],
    [1, "D1", "张伟", "u-zhang", "13812345678", "城南联络站"],
    [2, "D9", "周新", "u-zhouxin", "13900001111", "城北联络站"],
]


def _state(world: World) -> tuple[object, ...]:
    """Everything an admin route could change in the directory and calendar."""
    with world.sessions() as session:
        deputies = tuple(session.execute(select(Deputy.code, Deputy.phone).order_by(Deputy.code)))
        members = session.scalar(select(func.count()).select_from(DeputyStation))
        leaves = tuple(session.execute(select(Leave.deputy_id, Leave.start_date, Leave.end_date)))
        years = tuple(session.scalars(select(CalendarYear.year)))
    return deputies, members, leaves, years


def _audit(world: World) -> list[tuple[str, str, str, dict[str, object]]]:
    with world.sessions() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(r.person_name, r.action, r.target, dict(r.detail or {})) for r in rows]


def _upload(b: Browser, path: str, name: str, data: bytes, csrf: str | None = None) -> object:
    form = {"file": (io.BytesIO(data), name)}
    if csrf is not None:
        form["csrf"] = csrf  # type: ignore[assignment]
    return b.client.post(path, data=form, content_type="multipart/form-data")


def _token(html: str) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _deputy_id(world: World, code: str) -> int:
    with world.sessions() as session:
        found = session.scalar(select(Deputy.id).where(Deputy.code == code))
        assert found is not None
        return found


@pytest.mark.parametrize("user", ["u-zhang", "u-chen", "u-liu", "u-wu"])
def test_others_get_403_everywhere_and_change_nothing(
    browser: Browser, world: World, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    admin = Browser(browser.client.application.test_client(), browser.sim)
    admin.login("u-admin")
    preview = _upload(
        admin, "/workbench/admin/directory/import", "r.xlsx", _xlsx(GOOD_ROSTER), admin.csrf()
    )
    token = _token(preview.get_data(as_text=True))  # type: ignore[attr-defined]
    browser.login(user)
    csrf = browser.csrf()
    before = _state(world)
    d1 = _deputy_id(world, "D1")
    caplog.set_level(logging.WARNING, "lianxin.workbench")
    for path in [*GET_ROUTES, f"/workbench/admin/deputies/{d1}"]:
        res = browser.client.get(path)
        assert res.status_code == 403 and "无权访问" in res.get_data(as_text=True), path
    for path in POST_ROUTES:
        res = browser.client.post(path, data={"csrf": csrf, "token": token, "verb": "confirm"})
        assert res.status_code == 403, path
    leave = {"csrf": csrf, "from": "2026-12-01", "to": "2026-12-05", "substitute": "D2"}
    assert (
        browser.client.post(f"/workbench/admin/deputies/{d1}/leave", data=leave).status_code == 403
    )
    res = _upload(browser, "/workbench/admin/directory/import", "r.xlsx", _xlsx(GOOD_ROSTER), csrf)
    assert res.status_code == 403  # type: ignore[attr-defined]
    assert _state(world) == before
    refused = [a for a in _audit(world) if a[1] == "refused"]
    assert len(refused) == len(GET_ROUTES) + 1 + len(POST_ROUTES) + 2
    assert sum("workbench refused" in r.getMessage() for r in caplog.records) == len(refused)
    # the admin's preview was not consumed by the refused confirm
    done = admin.client.post(
        "/workbench/admin/directory/import/confirm", data={"csrf": admin.csrf(), "token": token}
    )
    assert done.status_code == 200 and "导入完成" in done.get_data(as_text=True)


def test_admin_posts_without_csrf_are_refused(browser: Browser, world: World) -> None:
    browser.login("u-admin")
    before = _state(world)
    d1 = _deputy_id(world, "D1")
    for path in [*POST_ROUTES, f"/workbench/admin/deputies/{d1}/leave"]:
        res = browser.client.post(path, data={"from": "2026-12-01", "to": "2026-12-02"})
        assert res.status_code == 403, path
    res = _upload(browser, "/workbench/admin/directory/import", "r.xlsx", _xlsx(GOOD_ROSTER))
    assert res.status_code == 403  # type: ignore[attr-defined]
    assert _state(world) == before
    assert all("CSRF" in a[2] for a in _audit(world) if a[1] == "refused")


def test_directory_page_lists_tree_stations_deputies_staff(browser: Browser, world: World) -> None:
    with world.sessions() as session, session.begin():
        d1 = session.scalars(select(Deputy).where(Deputy.code == "D1")).one()
        d1.phone = "13812345678"
        sub = session.scalars(select(Deputy).where(Deputy.code == "D2")).one()
        session.add(
            Leave(
                deputy_id=d1.id,
                start_date=date.today() - timedelta(days=2),
                end_date=date.today() + timedelta(days=5),
                substitute_id=sub.id,
            )
        )
    browser.login("u-admin")
    html = browser.client.get("/workbench/admin/directory").get_data(as_text=True)
    assert "连云市" in html and "新坝镇" in html and "城南联络站" in html and "陈静" in html
    assert "138****5678" in html and "13812345678" not in html
    assert "请假中" in html and "由李娜代理" in html
    filtered = browser.client.post(
        "/workbench/admin/directory", data={"csrf": browser.csrf(), "q": "王强"}
    ).get_data(as_text=True)
    table = filtered[filtered.index('id="deputy-list"') :]
    assert "王强" in table and "张伟" not in table
    by_station = browser.client.post(
        "/workbench/admin/directory", data={"csrf": browser.csrf(), "region": "T"}
    ).get_data(as_text=True)
    table = by_station[by_station.index('id="deputy-list"') :]
    assert "孙丽" in table and "王强" not in table
    page = browser.client.get(f"/workbench/admin/deputies/{d1.id}").get_data(as_text=True)
    assert "城南联络站" in page and "周一、周二" in page and 'id="deputy-load">0 件' in page


def test_roster_preview_then_confirm_changes_the_db_once(browser: Browser, world: World) -> None:
    browser.login("u-admin")
    before = _state(world)
    res = _upload(
        browser,
        "/workbench/admin/directory/import",
        "名单.xlsx",
        _xlsx(GOOD_ROSTER),
        browser.csrf(),
    )
    html = res.get_data(as_text=True)  # type: ignore[attr-defined]
    assert res.status_code == 200 and "预览" in html  # type: ignore[attr-defined]
    rows = html[html.index('id="import-rows"') :]
    assert "新增" in rows and "D9（周新）" in rows and "修改" in rows
    assert "139****1111" in rows and "13900001111" not in html  # phones masked in the preview
    assert _state(world) == before  # a dry run: nothing written
    token = _token(html)
    done = browser.client.post(
        "/workbench/admin/directory/import/confirm", data={"csrf": browser.csrf(), "token": token}
    )
    assert "导入完成：新增 1 条，修改 1 条" in done.get_data(as_text=True)
    after = _state(world)
    with world.sessions() as session:
        zhou = session.scalars(select(Deputy).where(Deputy.code == "D9")).one()
        assert zhou.dingtalk_user_id == "u-zhouxin" and zhou.phone == "13900001111"
    again = browser.client.post(
        "/workbench/admin/directory/import/confirm", data={"csrf": browser.csrf(), "token": token}
    )
    assert again.status_code == 409 and "预览已失效" in again.get_data(as_text=True)
    assert _state(world) == after
    actions = [(a[1], a[2]) for a in _audit(world) if "import" in a[1]]
    assert actions == [("directory_import_preview", "名单.xlsx"), ("directory_import", "名单.xlsx")]
    imported = next(a for a in _audit(world) if a[1] == "directory_import")
    assert imported[3]["created"] == {"deputies": 1} and imported[3]["updated"] == {"deputies": 1}


def test_a_duplicate_or_broken_file_is_refused_in_chinese(browser: Browser, world: World) -> None:
    browser.login("u-admin")
    before = _state(world)
    duplicate = [*GOOD_ROSTER, [3, "D10", "王强", "u-wang", "", "城北联络站"]]
    duplicate.append([4, "D11", "周新二", "u-zhou2", "13900001111", "城北联络站"])  # D9's phone
    res = _upload(
        browser, "/workbench/admin/directory/import", "dup.xlsx", _xlsx(duplicate), browser.csrf()
    )
    html = res.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "文件中有 2 处问题，未导入任何内容，数据库没有改动" in html
    assert "139****1111" in html and "13900001111" not in html  # phones masked in the reasons
    assert "此人已在名册中" in html and 'name="token"' not in html  # nothing to confirm
    rows = html[html.index('id="import-rows"') :]
    assert "逐行结果（整份文件未导入）" in html and "D9（周新）" in rows and "新增" in rows
    refused_row = rows[rows.index('<tr class="refused">') :]
    assert (
        "D10（王强）" in refused_row and "拒绝" in refused_row and "此人已在名册中" in refused_row
    )
    broken = _upload(
        browser, "/workbench/admin/directory/import", "bad.xlsx", b"not a workbook", browser.csrf()
    )
    assert "文件无法读取" in broken.get_data(as_text=True)  # type: ignore[attr-defined]
    wrong = _upload(browser, "/workbench/admin/directory/import", "r.txt", b"x", browser.csrf())
    assert wrong.status_code == 400  # type: ignore[attr-defined]
    assert "请上传 .xlsx、.csv 或 .yaml" in wrong.get_data(as_text=True)  # type: ignore[attr-defined]
    huge = _upload(
        browser, "/workbench/admin/directory/import", "big.csv", b"x" * 2_200_000, browser.csrf()
    )
    assert huge.status_code == 413  # type: ignore[attr-defined]
    assert "文件过大，请上传不超过 2048 KB 的文件" in huge.get_data(as_text=True)  # type: ignore[attr-defined]
    assert _state(world) == before
    refused = [a[1] for a in _audit(world) if a[1].endswith("_refused")]
    assert refused == ["directory_import_refused", "directory_import_refused"]


def test_leave_and_substitute_go_through_the_directory_code(browser: Browser, world: World) -> None:
    browser.login("u-admin")
    d1 = _deputy_id(world, "D1")
    leave = {"csrf": browser.csrf(), "from": "2026-11-23", "to": "2026-11-27", "substitute": "D3"}
    res = browser.client.post(f"/workbench/admin/deputies/{d1}/leave", data=leave)
    assert res.status_code == 302
    page = browser.client.get(res.headers["Location"]).get_data(as_text=True)
    assert "已更新张伟代表的请假安排" in page and "赵敏" in page
    with world.sessions() as session:
        # Monday 2026-11-23: 张伟's slot at S1 is taken by 赵敏, standing in
        found = {
            (c.deputy.code, c.reason) for c in on_duty(session, world.ids["s1"], date(2026, 11, 23))
        }
    assert ("D3", "substitute") in found and not any(code == "D1" for code, _ in found)
    selfsub = dict(leave, substitute="D1", **{"from": "2026-12-07", "to": "2026-12-08"})
    refused = browser.client.post(f"/workbench/admin/deputies/{d1}/leave", data=selfsub)
    assert "代理代表不能是本人" in refused.get_data(as_text=True)
    overlap = dict(leave, **{"from": "2026-11-25", "to": "2026-11-30"})
    html = browser.client.post(f"/workbench/admin/deputies/{d1}/leave", data=overlap).get_data(
        as_text=True
    )
    assert "与该代表已有的请假时间重叠" in html
    bad = dict(leave, to="下周")
    assert "请填写正确的请假开始和结束日期" in browser.client.post(
        f"/workbench/admin/deputies/{d1}/leave", data=bad
    ).get_data(as_text=True)
    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Leave)) == 1
    assert [a[1] for a in _audit(world)].count("set_leave") == 1


def test_settings_page_shows_effect_not_secrets(browser: Browser, world: World) -> None:
    browser.login("u-admin")
    html = browser.client.get("/workbench/admin/settings").get_data(as_text=True)
    assert "09:00–17:30" in html and "接单 1 个工作日" in html and "办结 15 个工作日" in html
    assert "新坝镇" in html and "本地区自定" in html  # the township's own claim limit
    assert "138****5678" in html and "自动附议" in html and "已配置" in html
    assert APP_SECRET not in html
    assert "缺少" in html or "均已覆盖" in html


def test_calendar_import_preview_confirm_and_refusal(browser: Browser, world: World) -> None:
    browser.login("u-admin")
    data = (EXAMPLES / "calendar-2027.yaml").read_bytes()
    res = _upload(
        browser, "/workbench/admin/settings/calendar", "calendar-2027.yaml", data, browser.csrf()
    )
    html = res.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "新增年份：2027" in html and "2027-01-01" in html and "放假" in html
    assert _state(world)[3] == ()
    token = _token(html)
    done = browser.client.post(
        "/workbench/admin/settings/calendar/confirm", data={"csrf": browser.csrf(), "token": token}
    )
    assert "日历已导入：2027年" in done.get_data(as_text=True)
    assert _state(world)[3] == (2027,)
    again = browser.client.post(
        "/workbench/admin/settings/calendar/confirm", data={"csrf": browser.csrf(), "token": token}
    )
    assert again.status_code == 409
    bad = _upload(
        browser, "/workbench/admin/settings/calendar", "c.yaml", b"holidays: []\n", browser.csrf()
    )
    assert "文件中没有 calendar: 部分" in bad.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "2027 年" in browser.client.get("/workbench/admin/settings").get_data(as_text=True)
    actions = [a[1] for a in _audit(world) if a[1].startswith("calendar_import")]
    assert actions == ["calendar_import_preview", "calendar_import", "calendar_import_refused"]
