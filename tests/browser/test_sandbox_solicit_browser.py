"""The solicitation card on the sandbox page: `lianxin solicit create` against a running sandbox,
the deputy's card rendered from the shipped template (loop of option buttons), answered by
clicks, 已提交 with the answers in place. Needs Chromium and Playwright (else skipped)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.browser.test_sandbox_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    STEP,
    Service,
    _clean_env,
    pytestmark,
    service,
)

__all__ = ["pytestmark", "service"]


def _create(service: Service, tmp: Path) -> None:
    deadline = (date.today() + timedelta(days=60)).isoformat()
    spec = tmp / "survey.yaml"
    spec.write_text(
        "kind: survey\ntitle: 关于菜市场改造的意见征集\ntext: 请提出意见。\n"
        "questions:\n"
        "  - {text: 您对改造方案的意见, type: single, options: [赞成, 不赞成]}\n"
        "  - {text: 您最关注的问题, type: multiple, options: [排水, 停车, 摊位]}\n"
        f"deadline: {deadline} 17:00\naudience: {{stations: [dh01]}}\n",
        encoding="utf-8",
    )
    env = _clean_env(service.var_dir)
    env["LIANXIN_DINGTALK__SOLICIT_CARD_TEMPLATE_ID"] = "lianxin-sandbox.solicit_card"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "solicit", "create", str(spec)],
        cwd=service.var_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_deputy_answers_the_solicitation_on_the_card(service: Service, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    _create(service, tmp_path)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(service.url)
            _answer(page, expect)
        finally:
            page.screenshot(path=str(Path("test-artifacts") / "sandbox-solicit.png"))
            browser.close()
    assert errors == []


def _answer(page: Any, expect: Any) -> None:
    me = page.locator("#me-chat")
    expect(page.locator("#chip-stream")).to_have_text("钉钉 Stream 已连接", timeout=STEP)
    page.select_option("#me-select", "dt_lifang")
    card = me.locator(".card", has_text="关于菜市场改造的意见征集")
    expect(card).to_contain_text("请作答", timeout=STEP)
    expect(card).to_contain_text("1. 您对改造方案的意见（单选）")
    card.locator(".card-btn", has_text="A. 赞成").click()
    expect(card).to_contain_text("尚缺第 2 题", timeout=STEP)
    card.locator(".card-btn", has_text="C. 摊位").click()
    expect(card).to_contain_text("已提交", timeout=STEP)
    expect(card).to_contain_text("C. 摊位")
    expect(card.locator(".card-btn.primary")).to_have_count(2, timeout=STEP)
