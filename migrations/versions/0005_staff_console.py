"""handoff queue rules, staff console sessions and canned replies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 23:56:18.403625
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = sa.text("status IN ('waiting', 'claimed')")


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text_ko", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["staff_users.id"], name=op.f("fk_console_sessions_user_id_staff_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("department", sa.String(length=20), nullable=False, server_default="civil_affairs")
        )
        batch_op.add_column(sa.Column("queued_at", api.core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ahead_when_queued", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("claimed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", api.core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", api.core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.Text(), nullable=True))

    op.execute("UPDATE handoffs SET queued_at = requested_at")
    # Before this revision a race could queue a conversation twice; the newest request stays.
    op.execute(
        "UPDATE handoffs SET status = 'cancelled' WHERE status = 'waiting' AND id NOT IN "
        "(SELECT max_id FROM (SELECT MAX(id) AS max_id FROM handoffs WHERE status = 'waiting' "
        "GROUP BY conversation_id) AS newest)"
    )

    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.alter_column("queued_at", existing_type=api.core.database.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_handoffs_status_department", ["status", "department"], unique=False)
        batch_op.create_index(
            "uq_handoffs_open_conversation",
            ["conversation_id"],
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_handoffs_claimed_by_id_staff_users"),
            "staff_users",
            ["claimed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_handoffs_claimed_by_id_staff_users"), type_="foreignkey")
        batch_op.drop_index("uq_handoffs_open_conversation", sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index("ix_handoffs_status_department")
        batch_op.drop_column("outcome")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by_id")
        batch_op.drop_column("ahead_when_queued")
        batch_op.drop_column("queued_at")
        batch_op.drop_column("department")

    op.drop_table("console_sessions")
    op.drop_table("canned_replies")
