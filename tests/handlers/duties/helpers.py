"""Create solicitations in a test World from the YAML fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from handlers.duties import solicit
from handlers.duties.spec import parse_spec
from storage.models import Solicitation, SolicitTarget
from tests.handlers.world import World

FIXTURES = Path(__file__).parents[2] / "fixtures" / "duties"
BJ = ZoneInfo("Asia/Shanghai")


def load(name: str, **changes: Any) -> dict[str, Any]:
    """A fixture YAML as a mapping, with top-level keys changed."""
    raw = yaml.safe_load((FIXTURES / name).read_text("utf-8"))
    raw.update(changes)
    return dict(raw)


def create(world: World, raw: dict[str, Any]) -> int:
    """Create the solicitation at the world's clock; its id."""
    with world.sessions() as session, session.begin():
        created = solicit.create(session, world.ctx(), parse_spec(raw, BJ), "test")
    world.new_outbox()  # tests look at what comes after the create unless they ask
    return created.solicitation_id


def target(world: World, sol_id: int, deputy_id: int) -> SolicitTarget:
    """A fresh copy of one deputy's row."""
    with world.sessions() as session:
        row = session.get(SolicitTarget, (sol_id, deputy_id))
        assert row is not None
        session.expunge(row)
        return row


def solicitation(world: World, sol_id: int) -> Solicitation:
    """A fresh copy of the solicitation."""
    with world.sessions() as session:
        sol = session.scalar(select(Solicitation).where(Solicitation.id == sol_id))
        assert sol is not None
        session.expunge(sol)
        return sol
