"""The constituent's photos, voice notes and locations reach the deputies in DingTalk."""

from __future__ import annotations

from pathlib import Path

from handlers import texts
from tests.handlers.world import World, texts_to

ROOT = Path(__file__).resolve().parents[2]


def _media(out: list) -> list[tuple[str, str, str]]:
    return [
        (s.payload["space"], s.payload["kind"], s.payload["path"]) for s in out if s.kind == "media"
    ]


def test_a_follow_up_photo_goes_to_the_handler_and_the_unclaimed_station(world: World) -> None:
    world.enter("s1")
    world.say("小区门口路灯坏了一个月了")
    n = world.last_case_id()
    out = world.say(kind="image", media_path="/kept/p1.jpg")
    assert _media(out) == [
        ("user:u-zhang", "image", "/kept/p1.jpg"),
        ("group:cid-s1", "image", "/kept/p1.jpg"),
    ]
    assert texts_to(out, "u-zhang") == [texts.supplement_media_arrived(n, "image")]
    assert "工作台" not in texts_to(out, "u-zhang")[0]


def test_after_the_claim_only_the_holder_gets_the_picture(world: World) -> None:
    world.enter("s1")
    world.say("路灯坏了")
    n = world.last_case_id()
    world.click("u-zhang", "claim", n)
    out = world.say(kind="voice", media_path="/kept/v1.amr")
    assert _media(out) == [("user:u-zhang", "voice", "/kept/v1.amr")]
    [row] = [s for s in out if s.kind == "media"]
    assert row.payload["file_name"] == f"语音-{n}.amr"


def test_a_case_opened_with_a_photo_posts_it_after_every_card(world: World) -> None:
    world.enter("s1")
    out = world.say(kind="image", media_path="/kept/first.jpg")
    # one card in both spaces; the photo follows it in each
    posts = [s.payload["space"] for s in out if s.kind == "card_post"]
    assert posts == ["group:cid-s1;user:u-zhang"]
    assert [m[0] for m in _media(out)] == posts[0].split(";")
    kinds = [s.kind for s in out if s.kind in ("card_post", "media")]
    assert kinds.index("media") > kinds.index("card_post")
    n = world.last_case_id()
    # a deputy who claims later gets the card and the photo in the 1:1 chat
    out = world.text("u-zhao", f"#{n} 接单")
    assert _media(out) == [("user:u-zhao", "image", "/kept/first.jpg")]


def test_a_location_is_its_name_and_coordinates(world: World) -> None:
    world.enter("s1")
    world.say("井盖丢了")
    n = world.last_case_id()
    out = world.say(
        kind="location", lat=34.6, lng=119.2, location_label="湖滨小区", text="湖滨小区"
    )
    assert texts_to(out, "u-zhang") == [
        texts.supplement_arrived(n, "位置：湖滨小区（34.60000, 119.20000）")
    ]


def test_no_message_sends_people_to_a_workbench_for_media() -> None:
    """The texts once said 「请在工作台查看」 for photos nobody could see there; the pictures
    now come to DingTalk itself (the web workbench in bot/workbench/ is a separate thing)."""
    for path in (ROOT / "handlers").rglob("*.py"):
        assert "工作台查看" not in path.read_text(encoding="utf-8"), path
    assert "工作台" not in texts.supplement_media_arrived(1, "image")
    assert "工作台" not in texts.supplement_media_arrived(1, "voice", shown=False)
