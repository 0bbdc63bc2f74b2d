"""Fixtures for handler tests: a seeded directory and an event driver (see world.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.handlers.world import World, seed


@pytest.fixture()
def world(sessions: sessionmaker[Session]) -> World:
    """The seeded directory at Monday 10:00 Beijing time."""
    with sessions() as session, session.begin():
        ids = seed(session)
    return World(sessions, ids)
