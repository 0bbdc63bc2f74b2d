"""Two deputies click 接单 at the same instant: real threads, real sessions, the real database."""

from __future__ import annotations

import threading

from handlers import texts
from handlers.cards import case_card
from handlers.dispatch import handle
from handlers.events import CardAction
from tests.handlers.world import World, texts_to


def _race(world: World, n: int, users: tuple[str, str]) -> list[BaseException]:
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def click(user: str) -> None:
        event = CardAction(
            platform="dingtalk",
            user_id=user,
            platform_id=f"race-{n}-{user}",
            card_id=f"case-{n}",
            action="claim",
            params={"case_id": str(n)},
            sent_at=world.now,
        )
        try:
            barrier.wait(timeout=10)
            with world.sessions() as session, session.begin():
                handle(session, event, world.ctx())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=click, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return errors


def test_exactly_one_of_two_simultaneous_claims_wins(world: World) -> None:
    world.enter("s1")
    titles = {"u-zhang": "张代表", "u-li": "李代表"}
    for round_no in range(5):
        world.say(f"新问题 第{round_no}个问题")
        n = world.last_case_id()
        world.new_outbox()
        assert _race(world, n, ("u-zhang", "u-li")) == []
        case = world.case(n)
        assert case.status == "accepted"
        winner = "u-zhang" if case.assignee_deputy_id == world.ids["zhang"] else "u-li"
        loser = "u-li" if winner == "u-zhang" else "u-zhang"
        assert case.assignee_deputy_id == world.ids[winner.removeprefix("u-")]
        claims = [e for e in world.events(n) if e.action == "claim"]
        assert len(claims) == 1
        out = world.new_outbox()
        assert texts_to(out, winner) == [texts.claim_ok(n)]
        assert texts_to(out, loser) == [texts.already_claimed(n, titles[winner])]
        # both transactions refreshed the cards; every card renders who holds the case
        assert len([s for s in out if s.kind == "card_refresh"]) == 2
        with world.sessions() as session:
            holder = case_card(session, n, world.now).holder_line
        assert holder == f"已由{titles[winner]}接单 10:00"
