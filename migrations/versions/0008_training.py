"""NLU inbox and its sightings, trained models, training runs (one running at a time), model activations

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 00:55:59.733888
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlu_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("entities", sa.JSON(), nullable=False),
        sa.Column("fallback", sa.Boolean(), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("fallback_count", sa.Integer(), nullable=False),
        sa.Column("handoff_count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("label_intent", sa.String(length=64), nullable=True),
        sa.Column("labelled_by_id", sa.Integer(), nullable=True),
        sa.Column("labelled_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["labelled_by_id"],
            ["staff_users.id"],
            name=op.f("fk_nlu_inbox_labelled_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_inbox")),
        sa.UniqueConstraint("language", "text_hash", name=op.f("uq_nlu_inbox_language_text_hash")),
    )
    with op.batch_alter_table("nlu_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_nlu_inbox_status_last_seen", ["status", "last_seen_at"], unique=False)

    op.create_table(
        "nlu_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("rasa_model_id", sa.String(length=64), nullable=True),
        sa.Column("fingerprint", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("config_name", sa.String(length=200), nullable=True),
        sa.Column("trained_by_id", sa.Integer(), nullable=True),
        sa.Column("trained_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("examples", sa.JSON(), nullable=True),
        sa.Column("evaluation", sa.JSON(), nullable=False),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trained_by_id"],
            ["staff_users.id"],
            name=op.f("fk_nlu_models_trained_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_models")),
        sa.UniqueConstraint("path", name=op.f("uq_nlu_models_path")),
    )
    with op.batch_alter_table("nlu_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_nlu_models_rasa_model_id"), ["rasa_model_id"], unique=False)

    op.create_table(
        "model_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("previous_model_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("activated_by_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replicas", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_model_activations_activated_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["model_id"], ["nlu_models.id"], name=op.f("fk_model_activations_model_id_nlu_models"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["previous_model_id"],
            ["nlu_models.id"],
            name=op.f("fk_model_activations_previous_model_id_nlu_models"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_activations")),
    )
    op.create_table(
        "nlu_sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("handoff", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_nlu_sightings_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["nlu_inbox.id"], name=op.f("fk_nlu_sightings_item_id_nlu_inbox"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_nlu_sightings_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nlu_sightings")),
        sa.UniqueConstraint("message_id", name=op.f("uq_nlu_sightings_message_id")),
    )
    with op.batch_alter_table("nlu_sightings", schema=None) as batch_op:
        batch_op.create_index("ix_nlu_sightings_conversation_seen", ["conversation_id", "seen_at"], unique=False)

    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("cross_validation", sa.Boolean(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", api.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("log_path", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["nlu_models.id"], name=op.f("fk_training_runs_model_id_nlu_models"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["staff_users.id"],
            name=op.f("fk_training_runs_started_by_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_runs")),
    )
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.create_index(
            "uq_training_runs_running",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("training_runs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_training_runs_running",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.drop_table("training_runs")
    with op.batch_alter_table("nlu_sightings", schema=None) as batch_op:
        batch_op.drop_index("ix_nlu_sightings_conversation_seen")

    op.drop_table("nlu_sightings")
    op.drop_table("model_activations")
    with op.batch_alter_table("nlu_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nlu_models_rasa_model_id"))

    op.drop_table("nlu_models")
    with op.batch_alter_table("nlu_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_nlu_inbox_status_last_seen")

    op.drop_table("nlu_inbox")
