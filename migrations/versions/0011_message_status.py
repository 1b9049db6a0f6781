"""message status: whether each incoming message was answered, since when, and who is answering it

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("status_at", api.core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("leased_until", api.core.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("leased_by", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_messages_status_leased_until", ["status", "leased_until"], unique=False)
    # Messages from before had their turn: none of them is swept up as unanswered now.
    op.execute("UPDATE messages SET status = 'answered', status_at = created_at WHERE direction = 'in'")


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_leased_until")
        batch_op.drop_column("leased_by")
        batch_op.drop_column("leased_until")
        batch_op.drop_column("status_at")
        batch_op.drop_column("status")
