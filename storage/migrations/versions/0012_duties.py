"""duties: solicitations, solicit_targets, ballots, duty_activities, meetings, documents

Revision ID: 0012_duties
Revises: 0011_workbench
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0012_duties"
down_revision = "0011_workbench"
branch_labels = None
depends_on = None

_TS = storage.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "solicitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("deadline", _TS, nullable=False),
        sa.Column("remind_days", sa.JSON(), nullable=False),
        sa.Column("reminders_done", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("closed_at", _TS, nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("tally", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "solicit_targets",
        sa.Column("solicitation_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("answered_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["solicitation_id"], ["solicitations.id"]),
        sa.ForeignKeyConstraint(["deputy_id"], ["deputies.id"]),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"]),
        sa.PrimaryKeyConstraint("solicitation_id", "deputy_id"),
    )
    op.create_index("ix_solicit_targets_deputy_id", "solicit_targets", ["deputy_id"])
    op.create_table(
        "ballots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("solicitation_id", sa.Integer(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["solicitation_id"], ["solicitations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ballots_solicitation_id", "ballots", ["solicitation_id"])
    op.create_table(
        "duty_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo", sa.String(length=256), nullable=True),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confirmed_by_staff_id", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["deputy_id"], ["deputies.id"]),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"]),
        sa.ForeignKeyConstraint(["confirmed_by_staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_duty_activities_deputy_id", "duty_activities", ["deputy_id"])
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("agenda", sa.Text(), nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("checkin_token", sa.String(length=32), nullable=False),
        sa.Column("button_checkin", sa.Boolean(), nullable=False),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "meeting_attendees",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("station_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("replied_at", _TS, nullable=True),
        sa.Column("checked_in_at", _TS, nullable=True),
        sa.Column("checkin_via", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.ForeignKeyConstraint(["deputy_id"], ["deputies.id"]),
        sa.ForeignKeyConstraint(["station_id"], ["stations.id"]),
        sa.PrimaryKeyConstraint("meeting_id", "deputy_id"),
    )
    op.create_index("ix_meeting_attendees_deputy_id", "meeting_attendees", ["deputy_id"])
    op.create_table(
        "duty_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("remind_days", sa.Integer(), nullable=True),
        sa.Column("reminded", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_duty_documents_meeting_id", "duty_documents", ["meeting_id"])
    op.create_table(
        "document_reads",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("deputy_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("opened_at", _TS, nullable=True),
        sa.Column("confirmed_at", _TS, nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["duty_documents.id"]),
        sa.ForeignKeyConstraint(["deputy_id"], ["deputies.id"]),
        sa.PrimaryKeyConstraint("document_id", "deputy_id"),
    )
    op.create_index("ix_document_reads_deputy_id", "document_reads", ["deputy_id"])


def downgrade() -> None:
    op.drop_index("ix_document_reads_deputy_id", table_name="document_reads")
    op.drop_table("document_reads")
    op.drop_index("ix_duty_documents_meeting_id", table_name="duty_documents")
    op.drop_table("duty_documents")
    op.drop_index("ix_meeting_attendees_deputy_id", table_name="meeting_attendees")
    op.drop_table("meeting_attendees")
    op.drop_table("meetings")
    op.drop_index("ix_duty_activities_deputy_id", table_name="duty_activities")
    op.drop_table("duty_activities")
    op.drop_index("ix_ballots_solicitation_id", table_name="ballots")
    op.drop_table("ballots")
    op.drop_index("ix_solicit_targets_deputy_id", table_name="solicit_targets")
    op.drop_table("solicit_targets")
    op.drop_table("solicitations")
