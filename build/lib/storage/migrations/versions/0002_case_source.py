"""cases.source: where a case came from (bot, 12345, ...)

Revision ID: 0002_case_source
Revises: 80ceb04d855a
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_case_source"
down_revision = "80ceb04d855a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="bot")
        )
        batch.create_index("ix_cases_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_source")
        batch.drop_column("source")
