"""附议: index cases.merged_into_id (co-signers of a case, on every card and answer)

Revision ID: 0013_cosign
Revises: 0012_duties
"""

from __future__ import annotations

from alembic import op

revision = "0013_cosign"
down_revision = "0012_duties"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.create_index("ix_cases_merged_into_id", ["merged_into_id"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_merged_into_id")
