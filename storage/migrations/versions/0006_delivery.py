"""constituents.window_msgid / uncertain_sends: the kf budget counted by message ids

Revision ID: 0006_delivery
Revises: 0005_inbox_order
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_delivery"
down_revision = "0005_inbox_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("constituents") as batch:
        batch.add_column(sa.Column("window_msgid", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column("uncertain_sends", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("constituents") as batch:
        batch.drop_column("uncertain_sends")
        batch.drop_column("window_msgid")
