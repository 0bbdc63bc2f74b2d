"""民情大脑: places (the gazetteer), case_places, and insight columns on cases

Revision ID: 0004_insight
Revises: 0002_case_source
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_insight"
down_revision = "0002_case_source"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.UniqueConstraint("region_id", "name"),
    )
    op.create_index("ix_places_region_id", "places", ["region_id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("category_confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("category_source", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("place_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("place_how", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("similar_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("similar_reason", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("recurrence_of_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("insight", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_cases_place_id", "places", ["place_id"], ["id"])
        batch.create_foreign_key("fk_cases_similar_to_id", "cases", ["similar_to_id"], ["id"])
        batch.create_foreign_key(
            "fk_cases_recurrence_of_id", "cases", ["recurrence_of_id"], ["id"]
        )
        batch.create_index("ix_cases_place_id", ["place_id"])
        batch.create_index("ix_cases_similar_to_id", ["similar_to_id"])
        batch.create_index("ix_cases_created_region", ["created_at", "region_id"])
        batch.create_index("ix_cases_lat_lng", ["lat", "lng"])
        batch.create_index("ix_cases_unplaced", ["place_id", "lat", "created_at"])
    op.create_table(
        "case_places",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("place_id", sa.Integer(), sa.ForeignKey("places.id"), primary_key=True),
        sa.Column("object", sa.String(length=32), primary_key=True),
    )
    op.create_index("ix_case_places_lookup", "case_places", ["place_id", "object", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_places_lookup", table_name="case_places")
    op.drop_table("case_places")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_unplaced")
        batch.drop_index("ix_cases_lat_lng")
        batch.drop_index("ix_cases_created_region")
        batch.drop_index("ix_cases_similar_to_id")
        batch.drop_index("ix_cases_place_id")
        batch.drop_constraint("fk_cases_recurrence_of_id", type_="foreignkey")
        batch.drop_constraint("fk_cases_similar_to_id", type_="foreignkey")
        batch.drop_constraint("fk_cases_place_id", type_="foreignkey")
        for column in (
            "insight",
            "recurrence_of_id",
            "similar_reason",
            "similar_to_id",
            "place_how",
            "place_id",
            "category_source",
            "category_confidence",
        ):
            batch.drop_column(column)
    op.drop_index("ix_places_region_id", table_name="places")
    op.drop_table("places")
