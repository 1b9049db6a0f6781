"""NLU inbox: signs that a confident answer was wrong (the citizen's next move), counted per item; when
housekeeping deleted a model's file.

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nlu_inbox") as table:
        table.add_column(sa.Column("doubt_count", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("nlu_sightings") as table:
        table.add_column(sa.Column("doubt", sa.String(16), nullable=True))
    with op.batch_alter_table("nlu_models") as table:
        table.add_column(sa.Column("file_deleted_at", api.core.database.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("nlu_models") as table:
        table.drop_column("file_deleted_at")
    with op.batch_alter_table("nlu_sightings") as table:
        table.drop_column("doubt")
    with op.batch_alter_table("nlu_inbox") as table:
        table.drop_column("doubt_count")
