"""Journeys 1–4 of product.md, clicked and typed on /sandbox in headless Chromium.

The whole service runs as `lianxin run` runs it (supervisor, web, worker, scheduler, stream and
both simulators) with no credentials and a temporary var/. Debian's Chromium is driven through
Playwright's Python package by executable path; no browser is downloaded. Screenshots are kept
in test-artifacts/. Ctrl-C (SIGINT to the process group) must leave no process behind.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("LX_TEST_CHROMIUM", "/usr/bin/chromium"))  # Debian's package
ARTIFACTS = REPO / "test-artifacts"
STARTUP_LIMIT = 120.0  # seconds from `lianxin run` to a working sandbox page
STEP = 20_000  # ms Playwright waits for each thing the page should show
RECEIPT = re.compile(r"已收到.*编号 #\d+")  # product.md journey 1
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return (
            f"sandbox browser test skipped: {CHROMIUM} not found "
            "(install Debian's chromium: apt-get install chromium; .ci/run does)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "sandbox browser test skipped: the playwright Python package is not installed"
    return None


SKIP_REASON = _skip_reason()  # pytest's -ra (in addopts) prints it in `make test`'s summary

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(SKIP_REASON is not None, reason=SKIP_REASON or ""),
    pytest.mark.timeout(300),
]


@dataclass
class Service:
    """`lianxin run` in its own session, and where it serves the sandbox."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    var_dir: Path
    startup_seconds: float


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIANXIN_", "LX_SANDBOX_"))}
    env.update(LIANXIN_VAR_DIR=str(var_dir), LIANXIN_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
    return env


def _session_pids(sid: int) -> list[int]:
    """Live processes of a session (zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


def _redis_pid(var_dir: Path) -> int | None:
    """The embedded redis-server of this var/ (its watchdog runs in a session of its own)."""
    try:
        return int((var_dir / "redis" / "redis.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _wait_ready(service_log: Path, url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"lianxin run exited with {proc.returncode}:\n{service_log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200 and "sandbox is ready" in (
                service_log.read_text()
            ):
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"no sandbox within {STARTUP_LIMIT:.0f}s:\n{service_log.read_text()[-4000:]}")


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    try:
        os.killpg(proc.pid, sig)  # what Ctrl-C in the terminal does: the whole foreground group
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`python -m bot.cli run` with no credentials: sandbox mode on loopback."""
    workdir = tmp_path_factory.mktemp("sandbox-run")
    var_dir = workdir / "var"
    log = workdir / "lianxin-run.log"
    port = _free_port()
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--port", str(port)],
            cwd=workdir,  # no ./lianxin.toml here
            env=_clean_env(var_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/sandbox"
    try:
        _wait_ready(log, url, proc)
        service = Service(proc, url, log, var_dir, time.monotonic() - started)
        yield service
    finally:
        _stop(proc)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "lianxin-run.log").write_bytes(log.read_bytes())


def _case_number(text: str, after: int = 0) -> int:
    numbers = [int(n) for n in re.findall(r"编号 #(\d+)", text)]
    fresh = [n for n in numbers if n > after]
    assert fresh, text
    return fresh[-1]


def test_journeys_one_to_four_on_the_sandbox_page(service: Service) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert service.startup_seconds < STARTUP_LIMIT
    print(f"\nlianxin run reached the sandbox page in {service.startup_seconds:.1f}s")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "sandbox-startup.txt").write_text(f"{service.startup_seconds:.1f}s\n")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(service.url)
            _journeys(page, expect)
        finally:
            page.screenshot(path=str(ARTIFACTS / "sandbox.png"))
            browser.close()
    assert errors == []


def _journeys(page: Any, expect: Any) -> None:
    phone = page.locator("#phone-chat")
    group = page.locator("#group-chat")
    me = page.locator("#me-chat")
    office = page.locator("#office-chat")
    expect(page.locator("#chip-stream")).to_have_text("钉钉 Stream 已连接", timeout=STEP)

    # Journey 1 — intake: scan the station poster, describe the problem, add a photo
    page.click("#btn-scan")
    page.click(".qr-card[data-scene='st_dh01']")
    expect(phone).to_contain_text(re.compile("欢迎.*东湖镇人大代表联络站"), timeout=STEP)
    page.fill("#wx-input", "小区门口路灯坏了一个月了")
    page.click("#wx-form button[type=submit]")
    expect(phone).to_contain_text(RECEIPT, timeout=STEP)
    page.click("#btn-photo")
    expect(phone.locator("img.photo")).to_have_count(1, timeout=STEP)
    first = _case_number(phone.inner_text())

    # Journey 2 — routing: the card is in the station group, @ the deputy on duty
    expect(page.locator("#group-select")).to_have_value("cid_donghu_station==")
    card = group.locator(f".card[data-case-id='{first}']")
    expect(card).to_contain_text("小区门口路灯坏了一个月了", timeout=STEP)
    expect(card).to_contain_text("待接单")
    # the photo sent in WeChat is shown in the group, re-uploaded to DingTalk and loaded
    expect(group.locator("img.photo")).to_have_count(1, timeout=STEP)
    page.wait_for_function(
        "() => { const i = document.querySelector('#group-chat img.photo');"
        " return !!i && i.complete && i.naturalWidth > 0; }",
        timeout=STEP,
    )
    deputy = card.get_attribute("data-at")
    assert deputy and deputy.startswith("dt_"), deputy
    page.select_option("#me-select", deputy)

    # Journey 3 — the deputy claims on the card, then answers with a text command
    card.locator(".card-btn[data-action='claim']").click()
    expect(card).to_contain_text(re.compile(r"已由.+接单"), timeout=STEP)
    expect(card.locator(".card-btn[data-action='claim']")).to_have_count(0)
    page.fill("#me-input", f"#{first} 回复 已联系城管，本周内修复")
    page.click("#me-form button[type=submit]")
    expect(me).to_contain_text(f"#{first} 回复 已联系城管，本周内修复", timeout=STEP)

    # Journey 4 — the answer and the rating menu reach WeChat; the constituent taps 满意
    expect(phone).to_contain_text(f"答复（#{first}）：已联系城管，本周内修复", timeout=STEP)
    satisfied = phone.locator(".menu-item", has_text=re.compile("^满意$")).last
    expect(satisfied).to_be_visible(timeout=STEP)
    page.screenshot(path=str(ARTIFACTS / "sandbox-answer.png"))
    satisfied.click()
    expect(phone).to_contain_text(re.compile(f"感谢.*#{first}.*满意"), timeout=STEP)
    expect(card).to_contain_text(re.compile("评价.*满意"), timeout=STEP)

    # Escalation: a second case nobody claims; two working days later the office is alerted
    page.fill("#wx-input", "菜市场门口的排水沟堵了，一下雨就积水")
    page.click("#wx-form button[type=submit]")
    receipts = phone.locator(".bubble", has_text=RECEIPT)
    expect(receipts).to_have_count(2, timeout=STEP)
    second = _case_number(phone.inner_text(), after=first)
    expect(group.locator(f".card[data-case-id='{second}']")).to_contain_text("待接单", timeout=STEP)
    for _ in range(2):
        before = page.inner_text("#clock-label")
        page.click("#btn-ff")
        expect(page.locator("#clock-label")).not_to_have_text(before, timeout=STEP)
    alert = office.locator(".bubble.alert", has_text=f"#{second}")
    expect(alert).to_have_count(1, timeout=STEP)
    expect(alert).to_contain_text("超时")
    expect(group.locator(f".card[data-case-id='{second}']")).to_contain_text(
        re.compile("超过.*时限"), timeout=STEP
    )
    expect(office.locator(".bubble.alert", has_text=f"#{first}")).to_have_count(0)
    expect(page.locator("#toast")).to_be_hidden(timeout=STEP)  # a clean picture


def test_a_phone_runs_journeys_one_and_two_and_resets_the_sandbox(service: Service) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": 390, "height": 844}, locale="zh-CN", has_touch=True, is_mobile=True
        )
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: dialog.accept())  # 重置沙盒 asks first
        try:
            page.goto(service.url)
            _phone_journeys(page, expect)
        finally:
            page.screenshot(path=str(ARTIFACTS / "sandbox-phone.png"))
            browser.close()
    assert errors == []


def _phone_journeys(page: Any, expect: Any) -> None:
    phone = page.locator("#phone-chat")
    expect(page.locator("#chip-stream")).to_have_text("钉钉 Stream 已连接", timeout=STEP)
    # one pane at a time: the WeChat pane fills the screen, the others wait behind tabs
    expect(page.locator("#tabs")).to_be_visible()
    expect(page.locator("#pane-group")).to_be_hidden()
    box = page.locator("#pane-wechat").bounding_box()
    assert box is not None and box["width"] >= 370, box
    page.tap("#btn-new-visitor")  # the earlier test's constituent had this phone
    expect(phone).not_to_contain_text("编号 #", timeout=STEP)

    # Journey 1 on a phone
    page.tap("#btn-scan")
    page.tap(".qr-card[data-scene='st_dh01']")
    expect(phone).to_contain_text(re.compile("欢迎.*东湖镇人大代表联络站"), timeout=STEP)
    page.fill("#wx-input", "楼道里的灯坏了，晚上看不见台阶")
    page.tap("#wx-form button[type=submit]")
    expect(phone).to_contain_text(RECEIPT, timeout=STEP)
    number = _case_number(phone.inner_text())
    stamp = phone.locator(".sys.time").first
    expect(stamp).to_contain_text(re.compile(r"\d+月\d+日 周. \d\d:\d\d"))  # service time
    page.screenshot(path=str(ARTIFACTS / "sandbox-phone-wechat.png"))

    # Journey 2: the card reaches the station group (its tab is marked) and is claimed by tap
    group_tab = page.locator(".tab[data-pane='pane-group']")
    expect(group_tab).to_have_class(re.compile("unread"), timeout=STEP)
    group_tab.tap()
    expect(page.locator("#pane-wechat")).to_be_hidden()
    card = page.locator(f"#group-chat .card[data-case-id='{number}']")
    expect(card).to_contain_text("楼道里的灯坏了", timeout=STEP)
    deputy = card.get_attribute("data-at")
    assert deputy
    page.select_option("#me-select", deputy)
    claim = card.locator(".card-btn[data-action='claim']")
    expect(claim).to_be_visible(timeout=STEP)  # the card re-renders for the new identity
    selector = f"#group-chat .card[data-case-id='{number}'] .card-btn[data-action='claim']"
    page.wait_for_function(  # a thumb can hit it (measured on the button as laid out)
        "s => { const b = document.querySelector(s); "
        "return b && b.getBoundingClientRect().height >= 36; }",
        arg=selector,
        timeout=STEP,
    )
    claim.tap()
    expect(card).to_contain_text(re.compile(r"已由.+接单"), timeout=STEP)
    page.screenshot(path=str(ARTIFACTS / "sandbox-phone-card.png"))

    # 快进 from the staff tab, so the reset has a clock to put back (and a pane to leave)
    page.locator(".tab[data-pane='pane-staff']").tap()
    page.tap("#btn-ff")
    expect(page.locator("#clock-lead")).to_contain_text("比实际时间快", timeout=STEP)
    expect(page.locator("#pane-wechat")).to_be_hidden()

    # 重置沙盒: no cases, no chats, the real clock, the example county's QR codes
    page.tap("#btn-reset")
    expect(page.locator("#toast")).to_contain_text("沙盒已重置", timeout=STEP)
    expect(page.locator("#clock-lead")).to_have_text("与实际时间一致", timeout=STEP)
    expect(page.locator("#pane-wechat")).to_be_visible()
    expect(phone).not_to_contain_text("编号 #", timeout=STEP)
    page.locator(".tab[data-pane='pane-group']").tap()
    expect(page.locator("#group-chat .card")).to_have_count(0, timeout=STEP)
    page.locator(".tab[data-pane='pane-wechat']").tap()
    page.tap("#btn-scan")
    expect(page.locator(".qr-card[data-scene='st_dh01']")).to_be_visible()
    page.tap("#qr-close")
    cases = requests.get(service_url(page) + "/api/config", timeout=10).json()
    assert {"东湖镇人大代表联络站", "西山乡人大代表联络站"} <= {
        s["name"] for s in cases["stations"]
    }


def service_url(page: Any) -> str:
    """The /sandbox URL the page is on."""
    return str(page.url).split("?")[0].rstrip("/")


def test_ctrl_c_leaves_no_process_behind(service: Service) -> None:
    sid = os.getsid(service.proc.pid)
    children = [pid for pid in _session_pids(sid) if pid != service.proc.pid]
    assert len(children) >= 4, "web, worker, scheduler and stream run as children"
    redis = _redis_pid(service.var_dir)
    _stop(service.proc)
    assert service.proc.returncode is not None
    deadline = time.monotonic() + 15
    while _session_pids(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _session_pids(sid) == []
    if redis is not None:
        while _alive(redis) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(redis), "the embedded redis-server outlived lianxin run"
    log = service.log.read_text()
    assert "all processes stopped" in log
