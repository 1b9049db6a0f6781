"""open-data registry: datasets, their columns and versions, rendered charts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 00:40:00
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LIVE = sa.text("status = 'live'")


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("title_ko", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description_ko", sa.Text(), nullable=False),
        sa.Column("description_en", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=False),
        sa.Column("licence", sa.String(length=200), nullable=False),
        sa.Column("update_frequency", sa.String(length=16), nullable=False),
        sa.Column("keywords_ko", sa.JSON(), nullable=False),
        sa.Column("keywords_en", sa.JSON(), nullable=False),
        sa.Column("row_label_ko", sa.String(length=80), nullable=False),
        sa.Column("row_label_en", sa.String(length=80), nullable=False),
        sa.Column("is_sample", sa.Boolean(), nullable=False),
        sa.Column("total_column", sa.String(length=80), nullable=True),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasets")),
    )
    op.create_index(op.f("ix_datasets_topic"), "datasets", ["topic"], unique=False)
    op.create_table(
        "dataset_columns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("label_ko", sa.String(length=120), nullable=False),
        sa.Column("label_en", sa.String(length=120), nullable=False),
        sa.Column("unit_ko", sa.String(length=20), nullable=False),
        sa.Column("unit_en", sa.String(length=40), nullable=False),
        sa.Column("aliases_ko", sa.JSON(), nullable=False),
        sa.Column("aliases_en", sa.JSON(), nullable=False),
        sa.Column("time_aggregation", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_columns_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_columns")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_dataset_columns_dataset_id_name")),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.String(length=80), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("imported_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_dataset_versions_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_versions")),
        sa.UniqueConstraint("dataset_id", "number", name=op.f("uq_dataset_versions_dataset_id_number")),
    )
    op.create_index(op.f("ix_dataset_versions_dataset_id"), "dataset_versions", ["dataset_id"], unique=False)
    op.create_index(
        "uq_dataset_versions_live",
        "dataset_versions",
        ["dataset_id"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_table(
        "opendata_charts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dataset_id", sa.String(length=80), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name=op.f("fk_opendata_charts_dataset_id_datasets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_charts")),
    )
    op.create_index(op.f("ix_opendata_charts_dataset_id"), "opendata_charts", ["dataset_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_opendata_charts_dataset_id"), table_name="opendata_charts")
    op.drop_table("opendata_charts")
    op.drop_index("uq_dataset_versions_live", table_name="dataset_versions", sqlite_where=LIVE, postgresql_where=LIVE)
    op.drop_index(op.f("ix_dataset_versions_dataset_id"), table_name="dataset_versions")
    op.drop_table("dataset_versions")
    op.drop_table("dataset_columns")
    op.drop_index(op.f("ix_datasets_topic"), table_name="datasets")
    op.drop_table("datasets")
