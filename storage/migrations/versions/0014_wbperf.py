"""Workbench speed: case_hours (working hours per case), case_masks (masked texts), indexes

Revision ID: 0014_wbperf
Revises: 0013_cosign
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models.base import UTCDateTime

revision = "0014_wbperf"
down_revision = "0013_cosign"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_hours",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("calendar_key", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("first_answered_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("to_claim", sa.Float(), nullable=True),
        sa.Column("to_answer", sa.Float(), nullable=True),
        sa.Column("to_close", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "case_masks",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("masked", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("case_id"),
    )
    with op.batch_alter_table("cases") as batch:
        batch.create_index("ix_cases_answer_due_at", ["answer_due_at"])
        batch.create_index("ix_cases_first_answered_at", ["first_answered_at"])
    with op.batch_alter_table("ratings") as batch:
        batch.create_index("ix_ratings_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("ratings") as batch:
        batch.drop_index("ix_ratings_created_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_first_answered_at")
        batch.drop_index("ix_cases_answer_due_at")
    op.drop_table("case_masks")
    op.drop_table("case_hours")
