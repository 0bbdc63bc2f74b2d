"""The directory as the admin pages list it: tree order, filters, leave and load."""

from __future__ import annotations

from datetime import date

from handlers.workbench.directory import (
    DirectoryFilter,
    deputy_detail,
    directory,
    masked_phone,
    region_tree,
)
from storage.models import Case, Constituent, Leave
from tests.handlers.world import World


def test_tree_filters_leave_and_load(world: World) -> None:
    with world.sessions() as session, session.begin():
        person = Constituent(channel="wecom_kf", external_id="wm-x", sends_since_inbound=0)
        session.add(person)
        session.flush()
        session.add(
            Case(
                status="assigned",
                constituent_id=person.id,
                station_id=world.ids["s1"],
                region_id=world.ids["county"],
                assignee_deputy_id=world.ids["zhang"],
                text="路灯坏了",
                created_at=world.now,
            )
        )
        session.add(
            Leave(
                deputy_id=world.ids["zhang"],
                start_date=date(2026, 11, 20),
                end_date=date(2026, 11, 30),
                substitute_id=world.ids["li"],
            )
        )
    with world.sessions() as session:
        tree = region_tree(session)
        assert [(n.region.code, n.depth, n.stations) for n in tree] == [
            ("C", 0, 0),
            ("K", 1, 2),
            ("T", 2, 1),
        ]
        everyone = directory(session, DirectoryFilter(), date(2026, 11, 16))
        zhang = next(r for r in everyone.deputies if r.deputy.code == "D1")
        assert zhang.open_cases == 1 and [s.code for s in zhang.stations] == ["S1"]
        assert zhang.leave is not None and zhang.leave.substitute is not None
        assert zhang.leave.substitute.code == "D2" and not zhang.leave.current(date(2026, 11, 16))
        after = directory(session, DirectoryFilter(), date(2026, 12, 1))
        assert next(r for r in after.deputies if r.deputy.code == "D1").leave is None  # past
        town = directory(session, DirectoryFilter(region_code="T"), date(2026, 11, 16))
        assert [r.deputy.code for r in town.deputies] == ["D5"]
        assert [r.station.code for r in town.stations] == ["S3"]
        found = directory(session, DirectoryFilter(q="u-wang"), date(2026, 11, 16))
        assert [r.deputy.code for r in found.deputies] == ["D4"]
        detail = deputy_detail(session, world.ids["zhang"])
        assert detail is not None and detail.open_by_status == {"assigned": 1}
        assert detail.duty == {world.ids["s1"]: [0, 1]}
        assert deputy_detail(session, 99999) is None


def test_phones_are_masked() -> None:
    assert masked_phone("13812345678") == "138****5678"
    assert masked_phone("+86 138 1234 5678").endswith("5678") and "1234" not in masked_phone(
        "+86 138 1234 5678"
    )
    assert masked_phone("0518-85206617") == "0518-****6617"
    assert masked_phone(None) == "—"
