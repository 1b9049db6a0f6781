"""handoff lifecycle: the words the router read, the waiting acknowledgement, satisfaction, department corrections

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _utc() -> api.core.database.UTCDateTime:
    return api.core.database.UTCDateTime(timezone=True)


# Plain ADD/DROP COLUMN rather than a batch: SQLite's copy of the table would lose the partial unique index that
# keeps one open handoff per conversation (reflection drops its WHERE).
HANDOFF_COLUMNS = (
    ("routed_text", sa.Text),
    ("acknowledged_at", _utc),
    ("satisfaction", sa.Integer),
    ("satisfaction_at", _utc),
)


def upgrade() -> None:
    for name, kind in HANDOFF_COLUMNS:
        op.add_column("handoffs", sa.Column(name, kind(), nullable=True))
    op.create_table(
        "department_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("from_department", sa.String(length=20), nullable=False),
        sa.Column("to_department", sa.String(length=20), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_department_corrections_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["handoff_id"],
            ["handoffs.id"],
            name=op.f("fk_department_corrections_handoff_id_handoffs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_department_corrections_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_department_corrections")),
    )
    op.create_index(
        op.f("ix_department_corrections_conversation_id"), "department_corrections", ["conversation_id"], unique=False
    )
    op.create_index("ix_handoffs_satisfaction_at", "handoffs", ["satisfaction_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_handoffs_satisfaction_at", table_name="handoffs")
    op.drop_index(op.f("ix_department_corrections_conversation_id"), table_name="department_corrections")
    op.drop_table("department_corrections")
    for name, _kind in reversed(HANDOFF_COLUMNS):
        op.drop_column("handoffs", name)
