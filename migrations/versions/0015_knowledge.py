"""knowledge base: entries staff keep, their sentence embeddings, and the questions citizens asked of it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 15:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _utc() -> api.core.database.UTCDateTime:
    return api.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=True),
        sa.Column("title_ko", sa.String(length=120), nullable=False),
        sa.Column("title_en", sa.String(length=120), nullable=True),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("answer_ko", sa.Text(), nullable=False),
        sa.Column("answer_en", sa.Text(), nullable=True),
        sa.Column("department_ko", sa.String(length=60), nullable=False),
        sa.Column("department_en", sa.String(length=80), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_knowledge_entries_updated_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_entries")),
        sa.UniqueConstraint("slug", name=op.f("uq_knowledge_entries_slug")),
    )
    op.create_index("ix_knowledge_entries_status", "knowledge_entries", ["status"], unique=False)
    op.create_table(
        "knowledge_vectors",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["knowledge_entries.id"],
            name=op.f("fk_knowledge_vectors_entry_id_knowledge_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entry_id", "position", name=op.f("pk_knowledge_vectors")),
    )
    op.create_table(
        "knowledge_asks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asked_at", _utc(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=True),
        sa.Column("feedback_at", _utc(), nullable=True),
        sa.Column("dismissed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["knowledge_entries.id"],
            name=op.f("fk_knowledge_asks_entry_id_knowledge_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_asks")),
    )
    op.create_index("ix_knowledge_asks_asked_at", "knowledge_asks", ["asked_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_knowledge_asks_asked_at", table_name="knowledge_asks")
    op.drop_table("knowledge_asks")
    op.drop_table("knowledge_vectors")
    op.drop_index("ix_knowledge_entries_status", table_name="knowledge_entries")
    op.drop_table("knowledge_entries")
