"""电子投票计票: one ballot per deputy, secret when set, the tally counted only at the close.

Casting marks the deputy's target row `voted` with a conditional UPDATE (so a second ballot,
even one racing the first, is refused) and writes the ballot to `ballots` — a random id, the
choices, and nothing else. For a secret vote the deputy's row keeps no answers and no time, and
the inbound message that carried the ballot is scrubbed from `messages` and `inbox` in the same
transaction. docs/duties.md explains what this protects and what it cannot.
"""

from __future__ import annotations

import json
import random
import secrets
from collections import Counter

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from handlers import cards
from handlers.cards import ReplyTarget
from handlers.context import HandlerContext
from handlers.duties import answers, texts
from handlers.duties.spec import questions_from_json
from handlers.queries import Person
from storage.models import Ballot, InboxItem, Message, Solicitation, SolicitTarget

SCRUBBED = "[无记名投票]"


def cast(
    session: Session,
    sol: Solicitation,
    person: Person,
    rest: str,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    """Record one complete ballot, or refuse it politely (incomplete, repeated, unreadable)."""
    questions = questions_from_json(sol.questions)
    steps = answers.parse_steps(rest, questions) if rest.strip() else texts.ballot_how(sol)
    if isinstance(steps, str):
        # a secret ballot's hint never echoes what the deputy wrote (the outbox keeps it)
        cards.reply(session, target, texts.ballot_unreadable(sol) if sol.secret else steps)
        return
    choices = answers.apply_steps({}, [s for s in steps if not s.toggle])
    if any(s.toggle for s in steps) or answers.missing(choices, questions):
        cards.reply(session, target, texts.ballot_incomplete(sol, questions))
        return
    done = session.execute(
        update(SolicitTarget)
        .where(
            SolicitTarget.solicitation_id == sol.id,
            SolicitTarget.deputy_id == person.id,
            SolicitTarget.status == "sent",
        )
        .values(
            status="voted",
            answers=None if sol.secret else choices,
            answered_at=None if sol.secret else ctx.now,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        cards.reply(session, target, texts.already_voted(sol))
        return
    session.add(Ballot(id=secrets.token_hex(16), solicitation_id=sol.id, choices=choices))
    if sol.secret:
        cards.reply(session, target, texts.secret_ballot_cast(sol))
    else:
        cards.reply(session, target, texts.open_ballot_cast(sol, questions, choices))


def scrub(session: Session, message_key: str, platform_id: str) -> None:
    """Remove the ballot's text from the inbound message log and the raw inbox row."""
    session.execute(
        update(Message)
        .where(Message.platform_id == message_key, Message.direction == "in")
        .values(text=SCRUBBED)
        .execution_options(synchronize_session=False)
    )
    for item in session.scalars(
        select(InboxItem).where(InboxItem.key == platform_id, InboxItem.source.like("dingtalk%"))
    ):
        item.payload = json.dumps({"scrubbed": "secret ballot"})


def count(session: Session, sol: Solicitation) -> dict[str, dict[str, int]]:
    """Votes per option per question, from the ballots."""
    tally: dict[str, Counter[str]] = {}
    for choices in session.scalars(select(Ballot.choices).where(Ballot.solicitation_id == sol.id)):
        for q, letters in choices.items():
            tally.setdefault(q, Counter()).update(letters)
    return {q: dict(sorted(c.items())) for q, c in sorted(tally.items())}


def close(session: Session, sol: Solicitation, ctx: HandlerContext, by: str) -> None:
    """Record the close; a vote is counted now, and its ballots rewritten in random order."""
    if sol.closed_at is not None:
        return
    sol.closed_at = min(ctx.now, sol.deadline) if by == "deadline" else ctx.now
    sol.closed_by = by
    if sol.kind == "vote":
        sol.tally = {"counts": count(session, sol), "ballots": _ballots(session, sol)}
        if sol.secret:
            _reshuffle(session, sol)
    if ctx.solicit_cards:  # every card turns 已截止
        from handlers.duties.solicit import queue_card_batches

        ids = session.scalars(
            select(SolicitTarget.deputy_id)
            .where(SolicitTarget.solicitation_id == sol.id)
            .order_by(SolicitTarget.deputy_id)
        )
        queue_card_batches(session, sol.id, list(ids), "close")


def _ballots(session: Session, sol: Solicitation) -> int:
    return len(list(session.scalars(select(Ballot.id).where(Ballot.solicitation_id == sol.id))))


def _reshuffle(session: Session, sol: Solicitation) -> None:
    """Rewrite the ballots with new random ids in random order (no physical voting order)."""
    rows = list(session.scalars(select(Ballot.choices).where(Ballot.solicitation_id == sol.id)))
    random.SystemRandom().shuffle(rows)
    session.execute(delete(Ballot).where(Ballot.solicitation_id == sol.id))
    session.add_all(
        Ballot(id=secrets.token_hex(16), solicitation_id=sol.id, choices=c) for c in rows
    )
