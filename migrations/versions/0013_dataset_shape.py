"""dataset shape and English publisher: series, snapshot or panel, the column naming the things a table lists, its total row, and whether an admin confirmed it

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 20:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.add_column(sa.Column("source_en", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("shape_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("entity_column", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("total_row", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("shape_confirmed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("shape_confirmed")
        batch.drop_column("total_row")
        batch.drop_column("entity_column")
        batch.drop_column("shape_kind")
        batch.drop_column("source_en")
