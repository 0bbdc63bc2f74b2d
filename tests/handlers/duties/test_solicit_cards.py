"""Template mode (`HandlerContext.solicit_cards`): card rows instead of markdown, each answer
refreshes the deputy's own card, and a secret ballot never shows on its card."""

from __future__ import annotations

import json

from handlers.duties import solicit
from handlers.duties.card_texts import card_params
from handlers.events import CardAction
from tests.handlers.duties.helpers import create, load, solicitation, target
from tests.handlers.world import World, bj, texts_to


def _click(world: World, user: str, sid: int, answer: str, n: int) -> list:  # type: ignore[type-arg]
    return world.send(
        CardAction(
            platform="dingtalk",
            user_id=user,
            platform_id=f"cb-{n}",
            card_id=f"lxs{sid}-x",
            action="solicit_answer",
            params={"kind": "solicit", "solicitation_id": str(sid), "answer": answer, "text": ""},
            sent_at=world.now,
        )
    )


def test_cards_replace_the_markdown_and_follow_each_answer(world: World) -> None:
    world.ctx_overrides["solicit_cards"] = True
    with world.sessions() as session, session.begin():
        from handlers.duties.spec import parse_spec
        from tests.handlers.duties.helpers import BJ

        created = solicit.create(session, world.ctx(), parse_spec(load("survey.yaml"), BJ))
    rows = world.new_outbox()
    assert {r.kind for r in rows} == {"solicit_card"}
    sid = created.solicitation_id
    deputies = sorted(d for r in rows for d in r.payload["deputy_ids"])
    assert len(deputies) == created.deputies and all(
        len(r.payload["deputy_ids"]) <= 20 for r in rows
    )

    out = _click(world, "u-zhao", sid, "1B", 1)
    assert [r.kind for r in out] == ["solicit_refresh"]  # no 1:1 message: the card shows it
    assert out[0].payload == {
        "solicitation_id": sid, "deputy_ids": [world.ids["zhao"]], "note": ""
    }  # fmt: skip
    out = _click(world, "u-zhao", sid, "3", 2)  # the free-text button with an empty box: a hint
    assert "第 3 题请写下您的意见" in texts_to(out, "u-zhao")[0]
    assert [r.payload["note"] for r in out if r.kind == "solicit_refresh"] == [
        texts_to(out, "u-zhao")[0]
    ]  # and the card says so too
    world.now = bj(2026, 11, 20, 17, 0)
    out = _click(world, "u-zhao", sid, "1A", 3)
    refresh = [r for r in out if r.kind == "solicit_refresh"]
    assert "未能记录" in refresh[0].payload["note"] and "未能记录" in texts_to(out, "u-zhao")[0]
    assert target(world, sid, world.ids["zhao"]).answers == {"1": ["B"]}
    world.run(solicit.tick)  # the close: every card is refreshed to 已截止
    closing = world.new_outbox()
    assert {r.kind for r in closing} == {"solicit_refresh"}
    assert sorted(d for r in closing for d in r.payload["deputy_ids"]) == deputies


def test_a_secret_ballot_never_shows_on_its_card(world: World) -> None:
    world.ctx_overrides["solicit_cards"] = True
    sid = create(world, load("vote.yaml"))
    _click(world, "u-zhang", sid, "1B", 1)
    sol = solicitation(world, sid)
    row = target(world, sid, world.ids["zhang"])
    params = card_params(sol, row, world.now)
    assert params["state"] == "voted" and "您已投票" in params["answers_md"]
    assert "农村道路" not in params["answers_md"] and json.loads(params["options"]) == []
    # before voting, a one-question vote has one button per option
    fresh = card_params(sol, target(world, sid, world.ids["li"]), world.now)
    assert [o["answer"] for o in json.loads(fresh["options"])] == ["1A", "1B", "1C"]
