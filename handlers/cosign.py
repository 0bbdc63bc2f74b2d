"""附议 (co-signing): merge a case into the same earlier case, undo it, share the answer.

A merged case keeps its own row (status `merged`, `merged_into_id` = the main case): its
constituent is a co-signer. They are told their report joined the main case, get each answer of
the main case as it is given, and rate it on their own row (`Rating(case_id=<own case>,
answer_seq=<main case's answer number>)`), so each co-signer's rating counts once and never
changes the main case's status. Every message goes through the ordinary outbox, so the WeCom
adapter's 5-in-48 h budget applies to co-signers like anyone else.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from handlers import cards, escalation, queries
from handlers.cards import ReplyTarget
from handlers.caselog import Actor, note, transition
from handlers.context import HandlerContext
from handlers.cosign_card import cosigners_of
from handlers.lifecycle import Action, Status, allowed
from handlers.notices import MenuItem, Purpose, ToConstituent, queue_notice
from handlers.texts import cosign as ctexts
from handlers.texts import merged_notice, rating_head, rating_options, status_label
from storage.models import Case, Constituent, Rating

MERGEABLE = frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED})
_NOT_A_MAIN_CASE = frozenset({Status.REJECTED})
_RATING_CODES = {"satisfied": "ok", "basic": "basic", "unsatisfied": "bad"}


def main_case_of(session: Session, case: Case) -> Case:
    """The case at the end of a merge chain (a main case is never itself merged, but be safe)."""
    seen = {case.id}
    while case.status == Status.MERGED and case.merged_into_id is not None:
        parent = session.get(Case, case.merged_into_id)
        if parent is None or parent.id in seen:
            break
        seen.add(parent.id)
        case = parent
    return case


def merge_refusal(session: Session, case: Case, main: Case | None, into: int) -> str | None:
    """Why `case` cannot be merged into `main` (polite Chinese), or None when it can."""
    if main is None:
        return ctexts.cosign_target_missing(into)
    if main.id == case.id:
        return ctexts.cosign_self(case.id)
    if case.status == Status.MERGED and case.merged_into_id is not None:
        return ctexts.cosign_already(case.id, case.merged_into_id)
    if Status(case.status) not in MERGEABLE:
        return ctexts.cosign_cannot(case.id, status_label(case.status))
    if Status(main.status) in _NOT_A_MAIN_CASE:
        return ctexts.cosign_target_closed(main.id, status_label(main.status))
    if cosigners_of(session, case.id):
        return ctexts.cosign_has_cosigners(case.id)
    return None


def merge(session: Session, case: Case, main: Case, actor: Actor, ctx: HandlerContext) -> int:
    """Merge `case` into `main` (checked by `merge_refusal`); returns the main's co-signer count."""
    transition(session, case, Action.MERGE, actor, ctx.now, into=main.id)
    case.merged_into_id = main.id
    case.closed_at = ctx.now
    case.rating_due_at = None
    count = len(cosigners_of(session, main.id))
    note(session, main, "cosigned", actor, ctx.now, cosigner=case.id, cosigners=count)
    _to_constituent(session, case, merged_notice(case.id, main.id), "info")
    if main.answer and main.answer_seq > 0 and Status(main.status) != Status.REJECTED:
        _send_answer(session, case, main)  # joined after the answer: it is theirs too
    handler = queries.assignee_of(session, main)
    if handler is not None and (handler.kind, str(handler.id)) != (actor.kind, actor.id):
        text = ctexts.cosign_to_main_handler(case.id, main.id, count)
        cards.tell(session, [handler], text, case_id=main.id)
    cards.refresh_cards(session, case)
    cards.refresh_cards(session, main)
    return count


def unmerge(session: Session, case: Case, actor: Actor, ctx: HandlerContext) -> int:
    """Undo a merge: the case is handled on its own again, by its handler; returns the old main."""
    into = case.merged_into_id
    assert into is not None
    transition(session, case, Action.UNMERGE, actor, ctx.now, was_into=into)
    case.merged_into_id = None
    case.closed_at = None
    case.claimed_at = None
    case.rating = None
    # ratings given as a co-signer stay (they count); the case's own answers number after them
    rated = session.scalar(select(func.max(Rating.answer_seq)).where(Rating.case_id == case.id))
    case.answer_seq = max(case.answer_seq, int(rated or 0))
    escalation.refresh_dues(session, case, ctx)
    main = session.get(Case, into)
    if main is not None:
        note(session, main, "cosign_undone", actor, ctx.now, cosigner=case.id)
        cards.refresh_cards(session, main)
    _to_constituent(session, case, ctexts.unmerged_notice(case.id), "info")
    cards.refresh_cards(session, case)
    return into


# ---------------------------------------------------------------- the command


def on_command(
    session: Session,
    case: Case,
    actor: Actor,
    undo: bool,
    arg: str,
    target: ReplyTarget,
    ctx: HandlerContext,
) -> None:
    """`#15 附议 [#12]` (into the suggested case when no number is given) or `#15 取消附议`."""
    if undo:
        if case.status != Status.MERGED or case.merged_into_id is None:
            cards.reply(session, target, ctexts.uncosign_not_merged(case.id), case_id=case.id)
            return
        was = unmerge(session, case, actor, ctx)
        cards.reply(session, target, ctexts.unmerged_ok(case.id, was), case_id=case.id)
        return
    into = _target_number(arg, case)
    if isinstance(into, str):
        cards.reply(session, target, into, case_id=case.id)
        return
    locked = queries.lock_case(session, into)
    main = main_case_of(session, locked) if locked is not None else None
    refusal = merge_refusal(session, case, main, into)
    if refusal is not None:
        cards.reply(session, target, refusal, case_id=case.id)
        return
    assert main is not None
    count = merge(session, case, main, actor, ctx)
    cards.reply(session, target, ctexts.merged_ok(case.id, main.id, count), case_id=case.id)


def _target_number(arg: str, case: Case) -> int | str:
    """The main case's number from `#12` / `12`, else the suggested one; a str is a refusal."""
    word = arg.strip().split()[0] if arg.strip() else ""
    if not word:
        return case.similar_to_id or ctexts.cosign_needs_target(case.id)
    digits = word.lstrip("#＃").translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not digits.isdigit() or len(digits) > 9 or int(digits) == 0:
        return ctexts.cosign_bad_target(word)
    return int(digits)


# ---------------------------------------------------------------- answers and ratings


def share_answer(session: Session, main: Case) -> int:
    """Send the main case's latest answer and a rating menu to each co-signer; returns how many."""
    ids = cosigners_of(session, main.id)
    for case_id in ids:
        row = session.get(Case, case_id)
        if row is not None:
            _send_answer(session, row, main)
    return len(ids)


def _send_answer(session: Session, row: Case, main: Case) -> None:
    body = ctexts.cosigner_answer(row.id, main.id, main.answer or "")
    # tracked like the main answer: its outcome is part of the deputy's delivery report
    copy = ToConstituent(
        row.constituent_id, body, purpose="answer", answer_seq=main.answer_seq, answer_of=main.id
    )
    queue_notice(session, copy, case_id=row.id)
    items = tuple(
        MenuItem(f"rate:{row.id}:{main.answer_seq}:{_RATING_CODES[value]}", label)
        for value, label in rating_options()
    )
    queue_notice(
        session,
        ToConstituent(row.constituent_id, rating_head(row.id), menu=items, purpose="rating"),
        case_id=row.id,
    )


def rate(
    session: Session,
    case: Case,
    person: Constituent,
    seq: int,
    value: str,
    ctx: HandlerContext,
) -> bool:
    """A co-signer rates the main case's answer `seq` on their own row; False if not open."""
    if case.merged_into_id is None:
        return False
    main = session.get(Case, case.merged_into_id)
    if main is None or seq <= 0 or seq != main.answer_seq or main.answered_at is None:
        return False
    if ctx.now - _rating_opened(case, main) > timedelta(days=ctx.rating_days):
        return False
    session.add(
        Rating(
            case_id=case.id,
            answer_seq=seq,
            constituent_id=person.id,
            value=value,
            created_at=ctx.now,
        )
    )
    case.rating = value
    actor = Actor("constituent", str(person.id), "wecom")
    about = {"value": value, "answer_seq": seq}
    note(session, case, "cosigner_rated", actor, ctx.now, main=main.id, **about)
    note(session, main, "cosigner_rated", actor, ctx.now, cosigner=case.id, **about)
    _to_constituent(session, case, ctexts.cosigner_rating_thanks(case.id, value), "info")
    handler = queries.assignee_of(session, main)
    people = [handler] if handler is not None else []
    if value == "unsatisfied":  # the main case's own rating decides its status; staff hear too
        people += cards.staff_people(queries.station_staff(session, main.station_id))
    if people:
        text = ctexts.cosigner_rating_to_handler(case.id, main.id, value)
        cards.tell(session, people, text, case_id=main.id)
    cards.refresh_cards(session, main)
    return True


def _rating_opened(case: Case, main: Case) -> datetime:
    """When the co-signer got the answer: at the answer, or at the merge when that came later."""
    assert main.answered_at is not None
    merged_at = case.closed_at or main.answered_at
    return max(main.answered_at, merged_at)


def expire_unrated(session: Session, ctx: HandlerContext) -> int:
    """Co-signers who left the main case's latest answer unrated for `rating_days`: 未评价."""
    main = aliased(Case)
    stmt = (
        select(Case, main)
        .join(main, main.id == Case.merged_into_id)
        .outerjoin(Rating, and_(Rating.case_id == Case.id, Rating.answer_seq == main.answer_seq))
        .where(
            Case.status == Status.MERGED.value,
            main.answer_seq > 0,
            main.answered_at <= ctx.now - timedelta(days=ctx.rating_days),
            Rating.id.is_(None),
        )
        .order_by(Case.id)
    )
    expired = 0
    for case, head in list(session.execute(stmt)):
        if ctx.now - _rating_opened(case, head) < timedelta(days=ctx.rating_days):
            continue  # merged after the answer: their own window is still open
        session.add(Rating.unrated(case, head.answer_seq, ctx.now))
        case.rating = "unrated"
        note(session, case, "cosigner_unrated", Actor.system(), ctx.now, main=head.id,
             answer_seq=head.answer_seq)  # fmt: skip
        expired += 1
    return expired


# ---------------------------------------------------------------- intake


def auto_merge(session: Session, case: Case, ctx: HandlerContext) -> bool:
    """With `auto_merge_score` set, merge a new case whose match is at least that confident."""
    threshold = ctx.auto_merge_score
    reason = case.similar_reason or {}
    if threshold is None or case.similar_to_id is None:
        return False
    if float(reason.get("score", 0.0)) < threshold:
        return False
    if not allowed(Status(case.status), Action.MERGE):
        return False
    locked = queries.lock_case(session, case.similar_to_id)
    main = main_case_of(session, locked) if locked is not None else None
    if merge_refusal(session, case, main, case.similar_to_id) is not None:
        return False
    assert main is not None
    merge(session, case, main, Actor.system(), ctx)
    return True


def _to_constituent(session: Session, case: Case, text: str, purpose: Purpose) -> None:
    notice = ToConstituent(case.constituent_id, text, purpose=purpose)
    queue_notice(session, notice, case_id=case.id)
