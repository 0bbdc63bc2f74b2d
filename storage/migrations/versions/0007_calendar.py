"""The office's calendar (calendar_years, calendar_days) and cases.due_provisional

Revision ID: 0007_calendar
Revises: 0006_delivery
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_calendar"
down_revision = "0006_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["year"], ["calendar_years.year"]),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_index("ix_calendar_days_year", "calendar_days", ["year"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("due_provisional", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("due_provisional")
    op.drop_index("ix_calendar_days_year", table_name="calendar_days")
    op.drop_table("calendar_days")
    op.drop_table("calendar_years")
