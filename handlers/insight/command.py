"""`#12 分类 停车`: a deputy or staff member corrects a case's category."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers import cards
from handlers.cards import ReplyTarget
from handlers.caselog import Actor
from handlers.context import HandlerContext
from handlers.insight import texts
from handlers.insight.category import categories
from handlers.insight.corrections import correct_category, match_category
from storage.models import Case


def categorise(
    session: Session, case: Case, arg: str, actor: Actor, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """Set the category named in `arg` (logged as a correction), or explain the choices."""
    known = categories()
    given = arg.split()[0] if arg.split() else ""
    if not given:
        cards.reply(session, target, texts.category_missing(known), case_id=case.id)
        return
    category = match_category(given)
    if category is None:
        cards.reply(session, target, texts.category_unknown(given, known), case_id=case.id)
        return
    before = correct_category(session, case, category, actor, ctx.now)
    cards.reply(session, target, texts.category_changed(case.id, before, category), case_id=case.id)
    cards.refresh_cards(session, case)
