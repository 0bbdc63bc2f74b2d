"""意见征集 on the DingTalk card template, end to end through the simulator: `lianxin solicit
create` → one advanced card per deputy → clicks over the real Stream SDK answered in 2 s → the
card turns 已提交 with the answers in place → a change updates it → after the deadline the card
shows 已截止 and a click is refused politely; the shipped template matches the code."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from bot.dingtalk import solicit_send
from bot.duties_jobs import run_duties
from bot.runtime import Runtime
from bot.simulators.dingtalk import DingTalkSimulator
from handlers.duties.card_texts import PARAM_NAMES, card_params
from storage.models import Solicitation, SolicitTarget
from tests.bot.dingtalk.conftest import Directory, StartStream, wait_until
from tests.bot.dingtalk.test_duties import BJ, FIXTURE, lianxin, set_clock
from tests.support import drain

TEMPLATE = "lianxin-solicit-card.schema"


def test_template_declares_exactly_the_variables_and_buttons_the_code_uses() -> None:
    spec = solicit_send.template_spec()
    public = {v["name"] for v in spec["variables"] if not v.get("private")}
    assert public == set(PARAM_NAMES)
    [button] = spec["buttons"]
    assert button["params"]["kind"] == "solicit"
    assert button["params"]["solicitation_id"] == "${solicitation_id}"
    assert button["params"]["answer"] == "${loop.answer}"
    assert button["params"]["text"] == "${input_text}"
    assert spec["callbackType"] == "STREAM"


def _messages(sim: DingTalkSimulator, user: str) -> list[str]:
    """The robot's 1:1 messages to `user` (cards left out)."""
    return [
        str((e.get("body") or {}).get("text") or e.get("text") or "")
        for e in sim.private_view(user)
        if e["sender"] == "robot" and e["kind"] != "card"
    ]


def _cards(rt: Runtime, sim: DingTalkSimulator, user: str) -> list[dict[str, Any]]:
    return [e for e in sim.private_view(user) if e["kind"] == "card"]


def _expected(rt: Runtime, sid: int, deputy_id: int, note: str = "") -> dict[str, str]:
    with rt.sessions() as s:
        sol = s.get(Solicitation, sid)
        row = s.get(SolicitTarget, (sid, deputy_id))
        assert sol is not None and row is not None
        return card_params(sol, row, rt.now(s), note)


def _click(
    sim: DingTalkSimulator, user: str, track: str, sid: int, answer: str, text: str = ""
) -> Any:
    params = {
        "kind": "solicit",
        "action": "solicit_answer",
        "solicitation_id": str(sid),
        "answer": answer,
        "text": text,
    }
    return sim.user_clicks(user, track, params, action_id="option")


def _settle(rt: Runtime, sim: DingTalkSimulator, track: str) -> dict[str, str]:
    """Run the click's jobs until the card is out of 「提交中…」; its cardParamMap."""

    def done() -> bool:
        drain(rt)
        return sim.card(track)["cardParamMap"]["busy"] == ""

    wait_until(done, timeout=10, what="the card refreshed")
    return dict(sim.card(track)["cardParamMap"])


def test_solicitation_answered_on_the_card(
    rt: Runtime,
    sim: DingTalkSimulator,
    directory: Directory,
    start_stream: StartStream,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rt.settings.dingtalk.solicit_card_template_id = TEMPLATE
    monkeypatch.setenv("LIANXIN_DINGTALK__SOLICIT_CARD_TEMPLATE_ID", TEMPLATE)
    set_clock(rt, datetime(2026, 11, 16, 10, 0, tzinfo=BJ))
    assert lianxin(rt, monkeypatch, "solicit", "create", str(FIXTURE)) == 0
    capsys.readouterr()
    drain(rt)
    with rt.sessions() as s:
        sid = int(s.scalar(select(SolicitTarget.solicitation_id).limit(1)) or 0)
    tracks = {}
    for user, deputy in (("u-zhang", directory.zhang), ("u-li", directory.li)):
        [card] = _cards(rt, sim, user)  # one card each, no markdown message
        assert _messages(sim, user) == []
        live = sim.card(card["outTrackId"])
        assert live["cardTemplateId"] == TEMPLATE and live["callbackType"] == "STREAM"
        assert live["cardParamMap"] == _expected(rt, sid, deputy)
        assert live["cardParamMap"]["state_label"] == "请作答"
        tracks[user] = card["outTrackId"]
    options = json.loads(sim.card(tracks["u-zhang"])["cardParamMap"]["options"])
    assert [o["answer"] for o in options] == ["1A", "1B", "1C", "2+A", "2+B", "2+C", "2+D", "3"]
    assert sim.state()["stats"]["card_param_non_string"] == 0

    start_stream()
    zhang = tracks["u-zhang"]
    started = time.monotonic()
    ack = _click(sim, "u-zhang", zhang, sid, "1A")
    assert time.monotonic() - started < 2.0
    assert ack == {
        "cardData": {"cardParamMap": {"busy": "提交中…"}},
        "cardUpdateOptions": {"updateCardDataByKey": True},
    }
    shown = _settle(rt, sim, zhang)
    assert shown["state"] == "partial" and "尚缺第 2 题" in shown["answers_md"]
    _click(sim, "u-zhang", zhang, sid, "2+A")
    _settle(rt, sim, zhang)
    _click(sim, "u-zhang", zhang, sid, "2+C")
    shown = _settle(rt, sim, zhang)
    assert shown["state_label"] == "已提交" and "A. 赞成" in shown["answers_md"]
    assert "A. 物业收费、C. 业委会" in shown["answers_md"]
    selected = {o["answer"] for o in json.loads(shown["options"]) if o["selected"] == "true"}
    assert selected == {"1A", "2+A", "2+C"}
    # free text from the card's input box, then a change of answer: the card follows
    _click(sim, "u-zhang", zhang, sid, "3", "建议明确停车位归属")
    _settle(rt, sim, zhang)
    _click(sim, "u-zhang", zhang, sid, "1B")
    shown = _settle(rt, sim, zhang)
    assert "B. 基本赞成" in shown["answers_md"] and "建议明确停车位归属" in shown["answers_md"]
    assert shown == _expected(rt, sid, directory.zhang)
    with rt.sessions() as s:
        row = s.get(SolicitTarget, (sid, directory.zhang))
        assert row is not None and row.status == "answered" and row.changes == 3  # 2+C, 3, 1B
        assert row.answers == {"1": ["B"], "2": ["A", "C"], "3": "建议明确停车位归属"}
    assert _messages(sim, "u-zhang") == []  # the card answered every click itself

    # a typed answer is answered by text and shows on the card too
    sim.user_sends_private_text("u-li", f"#征集{sid} 1C 2D")
    wait_until(lambda: (drain(rt), _messages(sim, "u-li"))[1], timeout=10, what="the reply")
    drain(rt)
    shown = sim.card(tracks["u-li"])["cardParamMap"]
    assert "已提交" in _messages(sim, "u-li")[-1] and shown["state_label"] == "已提交"

    # after the deadline: the click is refused politely, on the card and 1:1; nothing changes
    set_clock(rt, datetime(2026, 11, 20, 17, 1, tzinfo=BJ))
    _click(sim, "u-zhang", zhang, sid, "1C")
    shown = _settle(rt, sim, zhang)
    assert shown["closed"] == "true" and shown["state_label"].startswith("已截止")
    assert "未能记录" in shown["note"] and json.loads(shown["options"]) == []
    wait_until(lambda: (drain(rt), _messages(sim, "u-zhang"))[1], timeout=10, what="the refusal")
    assert "未能记录" in _messages(sim, "u-zhang")[-1]
    with rt.sessions() as s:
        row = s.get(SolicitTarget, (sid, directory.zhang))
        assert row is not None and row.answers["1"] == ["B"]
    # the close turns every card 已截止, the silent deputies' too
    assert run_duties() == "duties: 1"
    drain(rt)
    for user in ("u-zhang", "u-li"):
        final = sim.card(tracks[user])["cardParamMap"]
        assert final["closed"] == "true" and final["note"] == "" and final["options"] == "[]"


def test_a_resent_card_row_updates_the_cards_instead_of_posting_twice(
    rt: Runtime,
    sim: DingTalkSimulator,
    directory: Directory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sqlalchemy import update

    from bot.dingtalk.card_send import CARD_CREATE_DELIVER
    from bot.pipeline.outbox_jobs import enqueue_send
    from storage.models import OutboxItem

    rt.settings.dingtalk.solicit_card_template_id = TEMPLATE
    monkeypatch.setenv("LIANXIN_DINGTALK__SOLICIT_CARD_TEMPLATE_ID", TEMPLATE)
    set_clock(rt, datetime(2026, 11, 16, 10, 0, tzinfo=BJ))
    assert lianxin(rt, monkeypatch, "solicit", "create", str(FIXTURE)) == 0
    capsys.readouterr()
    drain(rt)
    with rt.sessions() as s:
        [row] = s.scalars(select(OutboxItem).where(OutboxItem.kind == "solicit_card")).all()
    # a worker that died after DingTalk created the cards, before anything was remembered
    for key in rt.redis.scan_iter(
        match=f"{rt.settings.redis.queue_prefix}:dingtalk:done:{row.id}:*"
    ):
        rt.redis.delete(key)
    with rt.sessions.begin() as s:
        s.execute(update(OutboxItem).where(OutboxItem.id == row.id).values(status="pending"))
    enqueue_send(rt, row.id)
    drain(rt)
    with rt.sessions() as s:
        again = s.get(OutboxItem, row.id)
        assert again is not None and again.status == "sent"
        assert set((again.result or {})["outcome"].values()) == {"duplicate"}
    for user in ("u-zhang", "u-li"):
        assert len(_cards(rt, sim, user)) == 1
    assert len([1 for _, p, _ in sim.calls if p == CARD_CREATE_DELIVER]) == 4  # 2 + the resend
