"""The two hooks the rest of lianxin calls: `on_text` for messages and `on_card` for clicks.

`handles(text)` is cheap and pure: handlers.actions asks it first and hands over only the
messages that belong here (`#征集3 …`, `#投票5 …`, `登记 …`, `确认登记 12`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import cards, queries
from handlers import texts as common_texts
from handlers.cards import ReplyTarget
from handlers.context import HandlerContext
from handlers.duties import answers, meeting, reading, register, solicit, texts, vote
from handlers.events import CardAction, StaffText
from storage.models import Solicitation

CARD_KINDS = frozenset({"solicit"})


def handles(text: str) -> bool:
    """True for the text commands of 代表履职."""
    return (
        answers.header(text) is not None
        or register.handles(text)
        or meeting.HEADER.match(text) is not None
        or reading.HEADER.match(text) is not None
    )


COMMAND_KINDS = (
    "survey_answer", "survey_show", "vote", "meeting_register", "meeting_excuse",
    "meeting_checkin", "checkin_qr", "doc_open", "doc_read", "register", "confirm_register",
)  # fmt: skip


def command_kind(text: str) -> str | None:
    """Which 代表履职 command `text` is (one of COMMAND_KINDS), as the parsers read it."""
    m = meeting.HEADER.match(text)
    if m is not None:
        word, rest = m.group(1), m.group(3).strip()
        if word == "签到":
            return "checkin_qr"
        if rest.startswith("签到"):
            return "meeting_checkin"
        if rest.startswith(("报名", "参加")):
            return "meeting_register"
        return "meeting_excuse" if rest.startswith("请假") else None
    m = reading.HEADER.match(text)
    if m is not None:
        return "doc_read" if m.group(2).strip().startswith(reading.CONFIRM_WORDS) else "doc_open"
    head = answers.header(text)
    if head is not None:
        if head.word_kind == "vote":
            return "vote"
        return "survey_answer" if head.rest else "survey_show"
    if register.handles(text):
        return "confirm_register" if register.is_confirm(text) else "register"
    return None


def on_text(session: Session, ev: StaffText, target: ReplyTarget, ctx: HandlerContext) -> None:
    """A 代表履职 text command from a deputy or staff member."""
    person = queries.person_by_platform(session, ev.platform, ev.user_id)
    if person is None:
        cards.reply(session, target, common_texts.unknown_person())
        return
    if meeting.HEADER.match(ev.text):
        meeting.on_text(session, person, ev.text, target, ctx)
        return
    if reading.HEADER.match(ev.text):
        reading.on_text(session, person, ev.text, target, ctx)
        return
    head = answers.header(ev.text)
    if head is None:
        register.on_text(session, person, ev, target, ctx)
        return
    keys = (f"{ev.platform}:{ev.platform_id}", ev.platform_id)
    _answer(session, person, head, target, ctx, keys)


def on_card(session: Session, ev: CardAction, ctx: HandlerContext) -> None:
    """A click on a solicitation card made from a template: params carry the answer command."""
    target = ReplyTarget(platform=ev.platform, user_id=ev.user_id, from_text=False)
    person = queries.person_by_platform(session, ev.platform, ev.user_id)
    if person is None:
        cards.reply(session, target, common_texts.unknown_person())
        return
    raw_id = ev.params.get("solicitation_id", "")
    if not raw_id.isdigit() or len(raw_id) > 9:
        cards.reply(session, target, texts.answer_empty())
        return
    answer = ev.params.get("answer", "").strip()
    if answer.isdigit():  # a free-text question: the text comes from the card's input box
        answer = f"{answer} {ev.params.get('text', '').strip()}"
    head = answers.Header("survey", int(raw_id), answer)
    keys = (f"{ev.platform}:card:{ev.platform_id}", ev.platform_id)
    _answer(session, person, head, target, ctx, keys)


def _answer(
    session: Session,
    person: queries.Person,
    head: answers.Header,
    target: ReplyTarget,
    ctx: HandlerContext,
    keys: tuple[str, str],
) -> None:
    sol = session.scalar(select(Solicitation).where(Solicitation.id == head.solicitation_id))
    if sol is None:
        cards.reply(session, target, texts.not_found(head.solicitation_id))
        return
    if person.kind != "deputy":
        cards.reply(session, target, texts.deputies_only())
        return
    row = solicit.lock_target(session, sol.id, person)
    if row is None:
        cards.reply(session, target, texts.not_in_audience(sol))
        return
    if sol.secret:
        # whatever becomes of it (cast, refused, late), the text is a deputy's choice
        vote.scrub(session, *keys)
    note = ""
    if not solicit.is_open(sol, ctx.now):
        note = texts.closed(sol)
        cards.reply(session, target, note)
    elif sol.kind == "vote":
        vote.cast(session, sol, person, head.rest, target, ctx)
    else:
        note = solicit.answer(session, sol, row, head.rest, target, ctx)
    if ctx.solicit_cards:  # the deputy's card shows the new answers (or why not) in place
        solicit.queue_card_batches(session, sol.id, [person.id], "refresh", note)
