"""Stored masked texts: used while text and masker are unchanged, masked afresh otherwise."""

from __future__ import annotations

from sqlalchemy import select, update

from handlers.privacy import mask_text
from handlers.workbench.masked import (
    case_ids_to_mask,
    mask_later,
    masked_texts,
    store_masks,
    take_cases_to_mask,
)
from storage.models import Case, CaseMask, Constituent
from tests.handlers.world import World, bj

TEXT = "我叫王小明，电话13912345678，小区门口路灯坏了"


def _case(world: World, text: str, person_id: str = "wm-mask") -> int:
    with world.sessions() as session, session.begin():
        person = Constituent(channel="wecom_kf", external_id=person_id)
        session.add(person)
        session.flush()
        case = Case(
            status="assigned", constituent_id=person.id, text=text, created_at=bj(2026, 11, 16)
        )
        session.add(case)
        session.flush()
        return case.id


def _masked(world: World, case_id: int) -> str:
    with world.sessions() as session, session.begin():
        case = session.get(Case, case_id)
        assert case is not None
        return masked_texts(session, [case])[case_id]


def test_masks_are_stored_and_reused_only_while_valid(world: World) -> None:
    n = _case(world, TEXT)
    first = _masked(world, n)
    assert first == mask_text(TEXT) and "13912345678" not in first
    with world.sessions() as session, session.begin():
        assert session.scalar(select(CaseMask.masked).where(CaseMask.case_id == n)) == first
        # a marker in the stored row shows whether the next export reads it
        session.execute(update(CaseMask).values(masked="(stored)"))
    assert _masked(world, n) == "(stored)"
    with world.sessions() as session, session.begin():  # a stored mask of another masker
        session.execute(update(CaseMask).values(key="0" * 40))
    assert _masked(world, n) == first
    with world.sessions() as session, session.begin():
        case = session.get(Case, n)
        assert case is not None
        case.text = "电话13800001111"
    assert _masked(world, n) == mask_text("电话13800001111")


def test_store_masks_masks_only_cases_without_a_valid_mask(world: World) -> None:
    a, b = _case(world, TEXT), _case(world, "电话13800001111", "wm-mask-2")
    with world.sessions() as session, session.begin():
        assert case_ids_to_mask(session, 0, 10, every=False) == [a, b]
        assert store_masks(session, [a]) == 1
        assert case_ids_to_mask(session, 0, 10, every=False) == [b]
        assert case_ids_to_mask(session, a, 10, every=True) == [b]
    with world.sessions() as session, session.begin():
        assert store_masks(session, [a, b]) == 1  # a's stored mask is still valid
        session.execute(update(CaseMask).where(CaseMask.case_id == a).values(key="0" * 40))
    with world.sessions() as session, session.begin():
        assert case_ids_to_mask(session, 0, 10, every=False) == []
        assert store_masks(session, [a, b]) == 1  # a's mask was of another masker
        masks = {cid: m for cid, m in session.execute(select(CaseMask.case_id, CaseMask.masked))}
    assert masks == {a: mask_text(TEXT), b: mask_text("电话13800001111")}


def test_mask_later_notes_cases_until_taken(world: World) -> None:
    with world.sessions() as session:
        mask_later(session, 7)
        mask_later(session, 9)
        assert take_cases_to_mask(session) == [7, 9]
        assert take_cases_to_mask(session) == []
