"""电子投票计票: one ballot per deputy, secret ballots unlinkable, tally only after the close."""

from __future__ import annotations

import json

from sqlalchemy import inspect, select

from handlers.duties import solicit, vote
from handlers.duties.results import results
from storage.models import Ballot, InboxItem, Message, Solicitation, SolicitTarget
from tests.handlers.duties.helpers import create, load, solicitation, target
from tests.handlers.world import World, bj, texts_to


def test_secret_vote_tally_refusal_and_no_link(world: World) -> None:
    sid = create(world, load("vote.yaml"))  # S1: 张伟, 李娜, 赵敏
    out = texts_to(world.text("u-zhang", f"#投票{sid} 1B"), "u-zhang")
    assert "已投入" in out[0] and "无记名" in out[0] and "关于农村道路" not in out[0]
    world.text("u-li", f"#投票{sid} 1B")
    world.text("u-zhao", f"#投票{sid} 1A")
    # an unreadable secret ballot is refused without echoing it
    out = texts_to(world.text("u-zhao", f"#投票{sid} 1Z"), "u-zhao")
    assert "未能读懂您的选票" in out[0] and "Z" not in out[0]
    # a second ballot from the same deputy is refused and changes nothing
    out = texts_to(world.text("u-zhang", f"#投票{sid} 1C"), "u-zhang")
    assert "已在" in out[0] and "只能投一次" in out[0]
    # before the close no tally is published
    with world.sessions() as session:
        assert results(session, sid).counts is None
    world.now = bj(2026, 11, 18, 17, 0)
    world.run(solicit.tick)
    sol = solicitation(world, sid)
    assert sol.closed_by == "deadline" and sol.tally is not None
    assert sol.tally["counts"] == {"1": {"A": 1, "B": 2}} and sol.tally["ballots"] == 3
    with world.sessions() as session:
        assert results(session, sid).counts == {1: {"A": 1, "B": 2, "C": 0}}
        # per deputy only "voted": no answers, no time
        rows = list(
            session.scalars(select(SolicitTarget).where(SolicitTarget.solicitation_id == sid))
        )
        assert {r.status for r in rows} == {"voted"}
        assert all(r.answers is None and r.answered_at is None for r in rows)
        # the ballots table has no column that could name or order a voter
        assert {c["name"] for c in inspect(session.connection()).get_columns("ballots")} == {
            "id",
            "solicitation_id",
            "choices",
        }
        ballots = list(session.scalars(select(Ballot).where(Ballot.solicitation_id == sid)))
        assert sorted(b.choices["1"][0] for b in ballots) == ["A", "B", "B"]
        assert all(len(b.id) == 32 for b in ballots)
        # and the messages that carried the ballots keep no choice
        texts = list(session.scalars(select(Message.text).where(Message.direction == "in")))
        assert texts and all(t == vote.SCRUBBED for t in texts)


def test_secret_ballot_scrubbed_from_the_inbox_row(world: World) -> None:
    sid = create(world, load("vote.yaml"))
    world.add(
        InboxItem(source="dingtalk_bot", key="msg-secret-1", payload=json.dumps({"text": "1B"}))
    )
    from datetime import timedelta

    from handlers.events import StaffText

    world.send(
        StaffText(
            platform="dingtalk",
            user_id="u-li",
            platform_id="msg-secret-1",
            text=f"#投票{sid} 1B",
            sent_at=world.now,
            reply_webhook="http://127.0.0.1:9/session",
            reply_webhook_expires_at=world.now + timedelta(hours=1),
        )
    )
    with world.sessions() as session:
        item = session.scalar(select(InboxItem).where(InboxItem.key == "msg-secret-1"))
        assert item is not None and "1B" not in item.payload


def test_incomplete_or_unreadable_ballot_is_not_cast(world: World) -> None:
    raw = load(
        "vote.yaml",
        secret=False,
        questions=[
            {"text": "第一项", "type": "single", "options": ["同意", "不同意", "弃权"]},
            {"text": "第二项", "type": "single", "options": ["同意", "不同意", "弃权"]},
        ],
    )
    sid = create(world, raw)
    out = texts_to(world.text("u-zhang", f"#投票{sid} 1A"), "u-zhang")
    assert "一次选完全部 2 题" in out[0]
    assert target(world, sid, world.ids["zhang"]).status == "sent"
    out = texts_to(world.text("u-zhang", f"#投票{sid} 1A 2C"), "u-zhang")
    assert "已投入" in out[0] and "弃权" in out[0]  # an open vote shows the ballot back
    row = target(world, sid, world.ids["zhang"])
    assert row.status == "voted" and row.answers == {"1": ["A"], "2": ["C"]}
    assert row.answered_at == world.now


def test_ballot_after_close_refused(world: World) -> None:
    sid = create(world, load("vote.yaml"))
    with world.sessions() as session, session.begin():
        sol = session.get(Solicitation, sid)
        vote.close(session, sol, world.ctx(), by="cli")
    out = texts_to(world.text("u-li", f"#投票{sid} 1A"), "u-li")
    assert "截止" in out[0]
    with world.sessions() as session:
        assert list(session.scalars(select(Ballot))) == []
    assert solicitation(world, sid).tally == {"counts": {}, "ballots": 0}
