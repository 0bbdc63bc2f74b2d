"""The Alembic history is one line, and the migrated schema is exactly what the models say."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.migrate import alembic_config
from storage.models import Base


def test_one_head(engine: Engine) -> None:
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"parallel migration branches must be chained: {heads}"


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
