"""The 附议 lines and buttons of a case card (apart from handlers.cosign, which posts cards)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.lifecycle import Status
from handlers.texts import cosign as ctexts
from storage.models import Case

_OFFER_IN = frozenset({Status.NEW.value, Status.ASSIGNED.value, Status.ACCEPTED.value})


def cosigners_of(session: Session, main_id: int) -> list[int]:
    """Ids of the cases merged into `main_id` (its co-signers), in order."""
    stmt = (
        select(Case.id)
        .where(Case.merged_into_id == main_id, Case.status == Status.MERGED.value)
        .order_by(Case.id)
    )
    return list(session.scalars(stmt))


def card_fields(session: Session, case: Case) -> Iterator[tuple[str, str]]:
    """「已合并为 #12 的附议」 on a merged card, 「附议 2（#15、#16）」 on a main one."""
    if case.status == Status.MERGED.value and case.merged_into_id is not None:
        yield ctexts.COSIGN_LABEL, ctexts.merged_line(case.merged_into_id)
        return
    numbers = cosigners_of(session, case.id)
    if numbers:
        yield ctexts.COSIGN_LABEL, ctexts.cosigners_line(numbers)


def card_buttons(case: Case) -> list[tuple[str, str, str]]:
    """(action, label, text command): 合并为附议 when a same case was found, 取消附议 after."""
    if case.status == Status.MERGED.value and case.merged_into_id is not None:
        return [("uncosign", ctexts.UNCOSIGN_BUTTON, ctexts.uncosign_command(case.id))]
    if case.similar_to_id is not None and case.status in _OFFER_IN:
        command = ctexts.cosign_command(case.id, case.similar_to_id)
        return [("cosign", ctexts.COSIGN_BUTTON, command)]
    return []
