"""inbox.conversation (per-conversation order) and inbox.nonce (replay check in the insert)

Revision ID: 0005_inbox_order
Revises: 0004_insight
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_inbox_order"
down_revision = "0004_insight"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("conversation", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("nonce", sa.String(length=100), nullable=True))
    # rows recorded before conversations existed: each is its own conversation
    op.execute("UPDATE inbox SET conversation = 'legacy:' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("inbox") as batch:
        batch.alter_column("conversation", existing_type=sa.String(length=200), nullable=False)
        batch.create_unique_constraint("uq_inbox_nonce", ["nonce"])
        batch.create_index("ix_inbox_conversation", ["conversation", "status", "id"])


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_conversation")
        batch.drop_constraint("uq_inbox_nonce", type_="unique")
        batch.drop_column("nonce")
        batch.drop_column("conversation")
