"""notices and their search index, subscriptions, certified personal notices, one-time codes, sms outbox

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 00:26:28.996626
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sender", sa.String(length=16), nullable=False),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )
    with op.batch_alter_table("sms_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_sms_outbox_phone", ["phone", "created_at"], unique=False)

    op.create_table(
        "notice_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("consented_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("withdrawn_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_notice_subscriptions_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_subscriptions")),
        sa.UniqueConstraint(
            "conversation_id", "category", name=op.f("uq_notice_subscriptions_conversation_id_category")
        ),
    )
    with op.batch_alter_table("notice_subscriptions", schema=None) as batch_op:
        batch_op.create_index("ix_notice_subscriptions_category", ["category", "withdrawn_at"], unique=False)

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("title_en", sa.String(length=200), nullable=True),
        sa.Column("summary_en", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("published_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_notices_created_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index("ix_notices_category_published", ["category", "published_at"], unique=False)
        batch_op.create_index("ix_notices_status_published", ["status", "published_at"], unique=False)

    op.create_table(
        "phone_links",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_phone_links_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("phone", name=op.f("pk_phone_links")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_phone_links_conversation_id")),
    )
    op.create_table(
        "notice_terms",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.Column("field", sa.String(length=8), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notices.id"], name=op.f("fk_notice_terms_notice_id_notices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("notice_id", "term", "field", name=op.f("pk_notice_terms")),
    )
    with op.batch_alter_table("notice_terms", schema=None) as batch_op:
        batch_op.create_index("ix_notice_terms_term", ["term"], unique=False)

    op.create_table(
        "personal_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("recipient_name", sa.String(length=60), nullable=True),
        sa.Column("department", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("sent_by_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("notified_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("identity_confirmed_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unlocked_until", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paper_mail_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["outbox.id"],
            name=op.f("fk_personal_notices_notification_id_outbox"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sent_by_id"],
            ["staff_users.id"],
            name=op.f("fk_personal_notices_sent_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_notices")),
    )
    with op.batch_alter_table("personal_notices", schema=None) as batch_op:
        batch_op.create_index("ix_personal_notices_phone", ["phone", "sent_at"], unique=False)

    op.create_table(
        "verification_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("personal_notice_id", sa.Integer(), nullable=True),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_verification_codes_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["personal_notice_id"],
            ["personal_notices.id"],
            name=op.f("fk_verification_codes_personal_notice_id_personal_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_codes")),
    )
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.create_index("ix_verification_codes_conversation", ["conversation_id", "purpose"], unique=False)
        batch_op.create_index("ix_verification_codes_phone_created", ["phone", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_codes_phone_created")
        batch_op.drop_index("ix_verification_codes_conversation")

    op.drop_table("verification_codes")
    with op.batch_alter_table("personal_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_notices_phone")

    op.drop_table("personal_notices")
    with op.batch_alter_table("notice_terms", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_terms_term")

    op.drop_table("notice_terms")
    op.drop_table("phone_links")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_status_published")
        batch_op.drop_index("ix_notices_category_published")

    op.drop_table("notices")
    with op.batch_alter_table("notice_subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_subscriptions_category")

    op.drop_table("notice_subscriptions")
    with op.batch_alter_table("sms_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_outbox_phone")

    op.drop_table("sms_outbox")
