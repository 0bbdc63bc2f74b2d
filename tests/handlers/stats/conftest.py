"""Handler-test fixtures (the seeded world) for the statistics tests."""

from tests.handlers.conftest import world

__all__ = ["world"]
