"""hotline_tickets: 12345 work orders imported as cases of source "12345"

Revision ID: 0009_hotline
Revises: 0007_calendar
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0009_hotline"
down_revision = "0007_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hotline_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=64), nullable=False),
        sa.Column("nature", sa.String(length=16), nullable=True),
        sa.Column("handling_unit", sa.String(length=128), nullable=True),
        sa.Column("raw_category", sa.String(length=256), nullable=True),
        sa.Column("raw_status", sa.String(length=32), nullable=True),
        sa.Column("resolved", sa.String(length=8), nullable=True),
        sa.Column("satisfied", sa.String(length=16), nullable=True),
        sa.Column("caller_hash", sa.String(length=64), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("imported_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
        sa.UniqueConstraint("ticket_no"),
    )
    with op.batch_alter_table("hotline_tickets") as batch:
        batch.create_index("ix_hotline_tickets_caller_hash", ["caller_hash"])
        batch.create_index("ix_hotline_tickets_region_id", ["region_id"])


def downgrade() -> None:
    with op.batch_alter_table("hotline_tickets") as batch:
        batch.drop_index("ix_hotline_tickets_region_id")
        batch.drop_index("ix_hotline_tickets_caller_hash")
    op.drop_table("hotline_tickets")
