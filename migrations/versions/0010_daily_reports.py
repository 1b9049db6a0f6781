"""daily reports: one row of figures per day (unique date), and whether each parsed message was a fallback

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", api.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_reports")),
        sa.UniqueConstraint("date", name=op.f("uq_daily_reports_date")),
    )
    with op.batch_alter_table("nlu_sightings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fallback", sa.Boolean(), nullable=False, server_default=sa.false()))
    # Sightings recorded before: an item every sighting of which was a fallback marks them all.
    op.execute(
        "UPDATE nlu_sightings SET fallback = TRUE WHERE item_id IN "
        "(SELECT id FROM nlu_inbox WHERE count > 0 AND fallback_count = count)"
    )


def downgrade() -> None:
    with op.batch_alter_table("nlu_sightings", schema=None) as batch_op:
        batch_op.drop_column("fallback")
    op.drop_table("daily_reports")
