"""console inbox: staff departments, private notes and labels on conversations

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 11:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _utc() -> api.core.database.UTCDateTime:
    return api.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN, as 0017 does for handoffs: a batch copy of staff_users is not needed for a nullable column.
    op.add_column("staff_users", sa.Column("department", sa.String(length=20), nullable=True))
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_notes_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_conversation_notes_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_notes")),
    )
    op.create_index(
        op.f("ix_conversation_notes_conversation_id"), "conversation_notes", ["conversation_id"], unique=False
    )
    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=30), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_labels_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["staff_users.id"],
            name=op.f("fk_conversation_labels_added_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "label", name=op.f("pk_conversation_labels")),
    )
    op.create_index(op.f("ix_conversation_labels_label"), "conversation_labels", ["label"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_conversation_labels_label"), table_name="conversation_labels")
    op.drop_table("conversation_labels")
    op.drop_index(op.f("ix_conversation_notes_conversation_id"), table_name="conversation_notes")
    op.drop_table("conversation_notes")
    op.drop_column("staff_users", "department")
