"""kf intake through the simulator: callbacks → sync_msg → one inbox row per msgid → events."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import ColumnElement, select

from bot.pipeline.inbox_jobs import process_inbox
from bot.runtime import Runtime
from bot.simulators.wecom import WeComSimulator
from bot.simulators.wecom.support import TINY_AMR, TINY_PNG
from bot.wecom import kf
from handlers.events import ConstituentEntered, ConstituentMessage, DeliveryFailed
from storage.models import Case, Constituent, InboxItem, KeyValue, Message
from tests.bot.wecom.conftest import OPEN_KFID, STATION_SCENE, Directory
from tests.support import drain

FIXTURES = Path(__file__).parents[2] / "fixtures" / "wecom"
ALICE = "wmAliceExternal0001"
M = TypeVar("M", InboxItem, Message, Constituent, Case)


def rows(rt: Runtime, model: type[M], *where: ColumnElement[bool]) -> list[M]:
    """All rows of a model, in id order."""
    with rt.sessions() as s:
        stmt = select(model).where(*where).order_by(model.id)
        return list(s.scalars(stmt))


def kf_rows(rt: Runtime) -> list[InboxItem]:
    """Inbox rows of pulled kf messages."""
    return rows(rt, InboxItem, InboxItem.source == "wecom_kf_msg")


def test_station_qr_entry_then_text_photo_location_recorded_once(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    sim.user_enter(ALICE, STATION_SCENE)
    text_id = sim.user_text(ALICE, "小区门口路灯坏了一个月了")
    photo_id = sim.user_image(ALICE)
    place_id = sim.user_location(ALICE, 34.5966, 119.2215, "幸福小区", "海州区幸福路 8 号")
    drain(rt)

    events = rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")
    assert len(events) == 4 and {e.status for e in events} == {"done"}
    pulled = kf_rows(rt)
    assert [r.key for r in pulled][1:] == [text_id, photo_id, place_id]
    assert {r.status for r in pulled} == {"done"}, [r.last_error for r in pulled]

    messages = {m.platform_id: m for m in rows(rt, Message, Message.direction == "in")}
    assert messages[text_id].kind == "text"
    assert messages[text_id].text == "小区门口路灯坏了一个月了"
    photo = messages[photo_id]
    assert photo.kind == "image" and photo.media_path
    assert Path(photo.media_path).read_bytes() == TINY_PNG
    assert Path(photo.media_path).is_relative_to((rt.settings.var_dir / "media").resolve())
    assert messages[place_id].kind == "location"

    [person] = rows(rt, Constituent)
    assert (person.channel, person.external_id) == ("wecom_kf", ALICE)
    assert person.station_id == directory.station_id
    [case] = rows(rt, Case)
    assert case.station_id == directory.station_id
    assert case.constituent_id == person.id
    assert messages[text_id].case_id == case.id
    # the acknowledgement reached the constituent in WeChat, with the case number
    seen = [m.get("text", {}).get("content", "") for m in sim.seen_by(ALICE)]
    assert any(f"#{case.id}" in text for text in seen), seen


def test_same_msgid_pulled_twice_gives_one_message_and_one_case(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    sim.user_enter(ALICE, STATION_SCENE)
    msgid = sim.user_text(ALICE, "楼道灯不亮")
    drain(rt)
    # the cursor is lost (e.g. restored from an old backup): everything is pulled again
    with rt.sessions.begin() as s:
        s.delete(s.get(KeyValue, kf.cursor_key(OPEN_KFID)))
    sim.user_text(ALICE, "还有，垃圾桶满了")
    drain(rt)
    assert [r.key for r in kf_rows(rt)].count(msgid) == 1
    assert len(rows(rt, Message, Message.platform_id == msgid)) == 1
    assert len(rows(rt, Case)) == 1


def test_callback_delivered_three_times_gives_one_message_and_one_case(
    sim: WeComSimulator, lianxin: str, rt: Runtime, directory: Directory
) -> None:
    sim.user_enter(ALICE, STATION_SCENE)
    sim.user_text(ALICE, "路面塌陷")
    [delivery] = [d for d in sim.deliveries if d.kind == "kf_msg_or_event"][-1:]
    # WeCom's retry repeats the identical request; replay it twice more at lianxin
    for _ in range(2):
        assert sim.send_callback_raw(delivery.inner_xml) == 200
    drain(rt)
    assert len(rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")) == 2
    assert len(rows(rt, Message, Message.kind == "text")) == 1
    assert len(rows(rt, Case)) == 1


def test_pages_loop_while_has_more_and_the_cursor_is_kept(
    sim: WeComSimulator, lianxin: str, rt: Runtime
) -> None:
    for n in range(kf.SYNC_LIMIT):
        sim.kf.record_customer_message(ALICE, "text", {"content": f"消息{n}"})
    sim.user_text(ALICE, "最后一条")
    [event] = rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")
    kf.pull(rt, event.id)  # the puller alone: the 1001 messages are recorded, not handled
    syncs = [body["cursor"] for path, body in sim.calls if path == "kf/sync_msg"]
    assert len(syncs) == 2 and syncs[0] == "" and syncs[1] != ""
    assert len(kf_rows(rt)) == kf.SYNC_LIMIT + 1
    with rt.sessions() as s:
        saved = s.get(KeyValue, kf.cursor_key(OPEN_KFID))
        assert saved is not None and saved.value not in ("", syncs[1])
        assert s.get(InboxItem, event.id).status == "done"  # type: ignore[union-attr]
    sim.user_text(ALICE, "新消息")
    [_, later] = rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")
    kf.pull(rt, later.id)
    syncs = [body["cursor"] for path, body in sim.calls if path == "kf/sync_msg"]
    assert syncs[-1] == saved.value  # the next pull continues from the saved cursor
    assert len(kf_rows(rt)) == kf.SYNC_LIMIT + 2


def test_one_puller_at_a_time_per_account(sim: WeComSimulator, lianxin: str, rt: Runtime) -> None:
    sim.user_text(ALICE, "一")
    [first] = rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")
    sim.set_latency("kf/sync_msg", 0.3)
    started = time.monotonic()
    one = threading.Thread(target=process_inbox, args=(first.id,))
    one.start()
    deadline = time.monotonic() + 10
    # the first pull is under way (its sync_msg is in flight) when the next callback arrives
    while not any(path == "kf/sync_msg" for path, _ in sim.calls):
        assert time.monotonic() < deadline, "the first pull never started"
        time.sleep(0.01)
    sim.user_text(ALICE, "二")
    [_, second] = rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")
    two = threading.Thread(target=process_inbox, args=(second.id,))
    two.start()
    one.join(10)
    two.join(10)
    sim.set_latency("kf/sync_msg", 0)
    syncs = [body["cursor"] for path, body in sim.calls if path == "kf/sync_msg"]
    # serialized: the second puller waited, then continued from the cursor the first saved
    assert len(syncs) == 2 and syncs[0] == "" and syncs[1] != ""
    assert time.monotonic() - started >= 0.6
    assert len(kf_rows(rt)) == 2
    assert {r.status for r in rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")} == {"done"}


def test_callbacks_received_before_a_pull_are_covered_by_it(
    sim: WeComSimulator, lianxin: str, rt: Runtime
) -> None:
    for n in range(5):
        sim.user_text(ALICE, f"第{n}条")
    drain(rt)
    assert [p for p, _ in sim.calls].count("kf/sync_msg") == 1  # one pull, not five
    events = rows(rt, InboxItem, InboxItem.source == "wecom_kf_event")
    assert len(events) == 5 and {e.status for e in events} == {"done"}
    assert len(kf_rows(rt)) == 5


def test_expired_callback_token_falls_back_to_a_tokenless_pull(
    sim: WeComSimulator, lianxin: str, rt: Runtime
) -> None:
    sim.user_text(ALICE, "你好")
    sim.advance(601)  # the Token in the callback lasts 10 minutes
    drain(rt)
    tokens = [body["token"] for path, body in sim.calls if path == "kf/sync_msg"]
    assert tokens[0].startswith("ENC") and tokens[-1] == ""
    assert len(kf_rows(rt)) == 1


def test_voice_is_kept_as_a_file_and_menu_clicks_carry_their_id(
    sim: WeComSimulator, lianxin: str, rt: Runtime
) -> None:
    voice_id = sim.user_voice(ALICE, TINY_AMR)
    menu_id = sim.user_text(ALICE, "满意", menu_id="rate:1:1:satisfied")
    drain(rt)
    by_key = {r.key: json.loads(r.payload) for r in kf_rows(rt)}
    voice = kf.to_event(by_key[voice_id])
    assert isinstance(voice, ConstituentMessage) and voice.kind == "voice"
    assert voice.media_path and voice.media_path.endswith(".amr")
    assert Path(voice.media_path).read_bytes() == TINY_AMR
    menu = kf.to_event(by_key[menu_id])
    assert isinstance(menu, ConstituentMessage)
    assert (menu.kind, menu.menu_id, menu.text) == ("menu", "rate:1:1:satisfied", "满意")


def test_recorded_sync_msg_sample_translates_to_neutral_events() -> None:
    sample = json.loads((FIXTURES / "kf_sync_msg_sample.json").read_text(encoding="utf-8"))
    events = [kf.to_event(m) for m in sample["msg_list"]]
    menu, text, place, servicer, enter, failed, state = events
    assert isinstance(menu, ConstituentMessage) and menu.kind == "menu" and menu.menu_id == "101"
    assert menu.external_id == "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
    assert menu.sent_at.timestamp() == 1615478585 and menu.sent_at.tzinfo is not None
    assert isinstance(text, ConstituentMessage) and text.text == "小区门口路灯坏了一个月了"
    assert isinstance(place, ConstituentMessage)
    assert (place.kind, place.lat, place.lng) == ("location", 34.5966, 119.2215)
    assert place.location_label == "幸福小区 海州区幸福路 8 号"
    assert servicer is None and state is None
    assert enter == ConstituentEntered(
        channel="wecom_kf",
        external_id="wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw",
        platform_id="ev_enter_0001",
        sent_at=datetime.fromtimestamp(1615478585, UTC),
        open_kfid="wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
        scene="123",
        scene_param="abc",
        welcome_code="aaaaaa",
    )
    assert isinstance(failed, DeliveryFailed)
    assert (failed.failed_msgid, failed.fail_type) == ("lx17", 4)
