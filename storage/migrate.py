"""Programmatic Alembic: `lianxin db upgrade|current|history`, the embedded self-migration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at our migrations, bound to `engine`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the schema to `revision` (idempotent); "heads" also applies parallel branches."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration from the models (developer tool)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


@dataclass(frozen=True)
class RevisionRow:
    """One migration: its id, what it parents, its message and whether it is applied/a head."""

    revision: str
    down: tuple[str, ...]
    doc: str
    applied: bool
    head: bool


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at (several while parallel branches are unmerged)."""
    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def head_revisions(engine: Engine) -> tuple[str, ...]:
    """Every head of the migration scripts (an up-to-date database is at all of them)."""
    return tuple(sorted(_scripts(engine).get_heads()))


def history(engine: Engine) -> list[RevisionRow]:
    """Every migration, newest first, marked applied when the database includes it."""
    scripts = _scripts(engine)
    current = current_revisions(engine)
    applied = {
        rev.revision for rev in scripts.iterate_revisions(current, "base") if rev is not None
    }
    heads = set(scripts.get_heads())
    return [
        RevisionRow(
            revision=rev.revision,
            down=_tuple(rev.down_revision),
            doc=(rev.doc or "").strip(),
            applied=rev.revision in applied,
            head=rev.revision in heads,
        )
        for rev in scripts.walk_revisions()
    ]


def _scripts(engine: Engine) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(engine))


def _tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)
