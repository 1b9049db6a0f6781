"""training gate: why a blocked model was activated anyway, and the regression messages added in the console

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 12:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("model_activations", sa.Column("confirm_reason", sa.Text(), nullable=True))
    op.add_column("model_activations", sa.Column("gate_reasons", sa.JSON(), nullable=True))
    op.create_table(
        "nlu_regression_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("inbox_item_id", sa.Integer(), nullable=True),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbox_item_id"],
            ["nlu_inbox.id"],
            name=op.f("fk_nlu_regression_messages_inbox_item_id_nlu_inbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["staff_users.id"],
            name=op.f("fk_nlu_regression_messages_added_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_regression_messages")),
        sa.UniqueConstraint("language", "text_hash", name=op.f("uq_nlu_regression_messages_language_text_hash")),
    )


def downgrade() -> None:
    op.drop_table("nlu_regression_messages")
    op.drop_column("model_activations", "gate_reasons")
    op.drop_column("model_activations", "confirm_reason")
