"""`#12 分类 停车`: a deputy or staff member corrects a case's category."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers import cards
from handlers.cards import ReplyTarget
from handlers.caselog import Actor
from handlers.context import HandlerContext
from handlers.insight import texts
from handlers.insight.category import categories
from handlers.insight.category_set import active
from handlers.insight.corrections import correct_category, match_category
from storage.models import Case


def categorise(
    session: Session, case: Case, arg: str, actor: Actor, target: ReplyTarget, ctx: HandlerContext
) -> None:
    """Set the category named in `arg` (logged as a correction), or explain the choices."""
    known = categories()
    given = arg.split()[0] if arg.split() else ""
    category = match_category(given) if given else None
    if category is None:
        _choose(session, case, given, known, target)
        return
    before = correct_category(session, case, category, actor, ctx.now)
    cards.reply(session, target, texts.category_changed(case.id, before, category), case_id=case.id)
    cards.refresh_cards(session, case)


def _choose(
    session: Session, case: Case, given: str, known: list[str], target: ReplyTarget
) -> None:
    """No or an unknown category: on DingTalk the categories as links, elsewhere as a list."""
    if target.platform == "dingtalk":
        current = active().label(case.category) if case.category else None
        lead = texts.category_not_found(given) if given else ""
        choices = tuple(
            (texts.category_choice_label(name, current), f"#{case.id} {texts.CATEGORY_VERB} {name}")
            for name in known
        )
        text = (lead + "\n" if lead else "") + texts.category_choose(case.id, current)
        cards.reply(session, target, text, case_id=case.id, choices=choices)
        return
    text = texts.category_unknown(given, known) if given else texts.category_missing(known)
    cards.reply(session, target, text, case_id=case.id)
