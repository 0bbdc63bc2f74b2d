"""The workbench in headless Chromium: DingTalk scan-login through the simulator, the region's
cases only, a case with its photo, a reassignment, an xlsx export — on a laptop and a phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.runtime import Runtime
from storage.models import Message
from tests.bot.workbench.conftest import settings, sim, world  # noqa: F401  (fixtures)
from tests.bot.workbench.test_workbench import _cases
from tests.browser.test_sandbox_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, SKIP_REASON
from tests.handlers.world import World
from tests.support import serve

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or ""),
    pytest.mark.timeout(300),
]
STEP = 15_000
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005fe02fea35a8d6f0000000049454e44ae426082"
)


@pytest.fixture()
def base(rt: Runtime, world: World) -> Iterator[str]:  # noqa: F811
    """lianxin's web app on a free loopback port."""
    with serve(rt) as callback:
        yield callback.removesuffix("/wecom/callback")


def _with_photo(rt: Runtime, world: World, case_id: int) -> None:  # noqa: F811
    folder = rt.settings.var_dir / "media" / "kf"
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "lamp.png"
    photo.write_bytes(PNG)
    with world.sessions() as session, session.begin():
        session.add(
            Message(
                direction="in",
                channel="wecom_kf",
                platform_id="kf-photo-browser",
                case_id=case_id,
                kind="image",
                media_path=str(photo),
                created_at=world.now,
            )
        )


def test_office_staff_journey(
    base: str,
    rt: Runtime,
    world: World,  # noqa: F811
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ids = _cases(world)
    _with_photo(rt, world, ids["s1"])
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.set_default_timeout(STEP)
        page.goto(f"{base}/workbench/")
        page.click("#dingtalk-login")  # → the simulator's 扫码 page: "scan" as 陈静 (S1 staff)
        page.click("button[value='u-chen']")
        expect(page.locator(".who")).to_contain_text("陈静（联络站）")
        page.click("nav >> text=诉求")
        rows = page.locator("#case-list tbody tr")
        expect(rows).to_have_count(1)  # only the station's case; S2 and the township are hidden
        expect(rows.first).to_contain_text(f"#{ids['s1']}")
        page.click(f"text=#{ids['s1']}")
        expect(page.locator("img.photo")).to_be_visible()
        assert page.evaluate("document.querySelector('img.photo').naturalWidth") == 1
        page.select_option("#reassign-to", "赵敏")
        page.click("#do-reassign")
        expect(page.locator("#action-notice")).to_be_visible()
        expect(page.locator("#case-handler")).to_contain_text("赵代表")
        page.screenshot(path=str(ARTIFACTS / "workbench-case.png"), full_page=True)
        page.click("nav >> text=诉求")
        with page.expect_download() as download:
            page.click("#export-cases")
        cases_xlsx = tmp_path / "cases.xlsx"
        download.value.save_as(cases_xlsx)
        page.goto(f"{base}/workbench/?from=2026-11-01&to=2026-11-30")
        expect(page.locator("#fig-collected .value")).to_have_text("1")
        page.screenshot(path=str(ARTIFACTS / "workbench-overview.png"), full_page=True)
        with page.expect_download() as stats_download:
            page.click("text=导出统计（xlsx）")
        stats_xlsx = tmp_path / "stats.xlsx"
        stats_download.value.save_as(stats_xlsx)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{base}/workbench/cases/{ids['s1']}")
        expect(phone.locator("#do-reassign")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        phone.screenshot(path=str(ARTIFACTS / "workbench-phone.png"), full_page=True)
        browser.close()
    assert width <= 390, "the case page scrolls sideways on a phone"
    exported = list(load_workbook(cases_xlsx)["诉求"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in exported] == [ids["s1"]]
    assert "13912345678" not in str(exported)
    summary = load_workbook(stats_xlsx)["汇总"]
    header = [c.value for c in summary[1]]
    values = dict(zip(header, [c.value for c in summary[2]], strict=True))
    monkeypatch.setenv("LIANXIN_DATABASE__URL", database_url)
    window = ["--from", "2026-11-01", "--to", "2026-11-30", "--json"]
    assert main(["stats", "--region", "K", "--by", "station", *window]) == 0
    report = json.loads(capsys.readouterr().out)
    station = next(g for g in report["groups"] if g["label"] == "城南联络站")["figures"]
    # the station staff's export equals the CLI's figures for that station, and hand counts
    assert values["收集"] == station["collected"]["value"] == 1
    # its answer deadline (three working days later) fell in November, unanswered: 0 of 1
    assert values["及时答复率分母"] == station["timely_answer_rate"]["denominator"] == 1
    assert values["及时答复率分子"] == station["timely_answer_rate"]["numerator"] == 0
    assert values["满意率（%）"] is None and station["satisfaction_rate"]["value"] is None
    assert report["totals"]["collected"]["value"] == 3  # the county sees all three


def test_admin_directory_and_settings(
    base: str,
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The admin uploads a roster, previews and confirms it, sets a leave, reads 设置 — on a
    laptop and a phone; screenshots of each page land in test-artifacts/."""
    from playwright.sync_api import expect, sync_playwright

    from tests.bot.workbench.test_admin import GOOD_ROSTER, _xlsx

    roster = tmp_path / "代表名单.xlsx"
    roster.write_bytes(_xlsx(GOOD_ROSTER))
    twice = tmp_path / "重复名单.xlsx"  # 王强 again under a new 编号: the whole file is refused
    twice.write_bytes(_xlsx([*GOOD_ROSTER, [3, "D10", "王强", "u-wang", "", "城北联络站"]]))
    ARTIFACTS.mkdir(exist_ok=True)
    widths: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(STEP)
        page.goto(f"{base}/workbench/")
        page.click("#dingtalk-login")
        page.click("button[value='u-admin']")
        expect(page.locator(".who")).to_contain_text("管理员（管理员）")
        page.click("nav >> text=名册")
        expect(page.locator("#deputy-list")).to_contain_text("张伟")
        page.screenshot(path=str(ARTIFACTS / "workbench-admin-directory.png"), full_page=True)
        page.click("nav.tabs >> text=导入名册")
        page.set_input_files("input[name=file]", str(twice))
        page.click("#preview-import")
        expect(page.locator("#import-message")).to_contain_text("未导入任何内容")
        expect(page.locator("#import-rows tr.refused")).to_contain_text("此人已在名册中")
        page.screenshot(path=str(ARTIFACTS / "workbench-admin-import-refused.png"), full_page=True)
        page.set_input_files("input[name=file]", str(roster))
        page.click("#preview-import")
        expect(page.locator("#import-rows")).to_contain_text("周新")
        page.screenshot(path=str(ARTIFACTS / "workbench-admin-import.png"), full_page=True)
        page.click("#confirm-import")
        expect(page.locator("#import-message")).to_contain_text("导入完成")
        page.click("nav >> text=名册")
        page.click("#deputy-list >> text=张伟")
        deputy_path = page.url.removeprefix(base)
        page.fill("input[name=from]", "2026-12-07")
        page.fill("input[name=to]", "2026-12-11")
        page.select_option("select[name=substitute]", "D3")
        page.click("#save-leave")
        expect(page.locator("#admin-notice")).to_contain_text("已更新张伟代表的请假安排")
        page.screenshot(path=str(ARTIFACTS / "workbench-admin-deputy.png"), full_page=True)
        page.click("nav >> text=设置")
        expect(page.locator("#settings-hours")).to_contain_text("09:00")
        page.screenshot(path=str(ARTIFACTS / "workbench-admin-settings.png"), full_page=True)
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.context.add_cookies(page.context.cookies())
        for name, path in [
            ("directory", "/workbench/admin/directory"),
            ("import", "/workbench/admin/directory/import"),
            ("settings", "/workbench/admin/settings"),
            ("deputy", deputy_path),
        ]:
            phone.goto(f"{base}{path}")
            widths[name] = phone.evaluate("document.documentElement.scrollWidth")
            phone.screenshot(
                path=str(ARTIFACTS / f"workbench-admin-{name}-phone.png"), full_page=True
            )
        browser.close()
    assert all(w <= 390 for w in widths.values()), widths
