"""citizen reports (생활불편 신고): seeded kinds, cases with receipt numbers and deadlines, reporters, events, photos

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 09:00:00.000000
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import api.core.database

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# The kinds a city starts with, as they were when this revision was written (api/reports/kinds.py adds later ones).
KINDS = (
    ("illegal_parking", "불법 주정차", "Illegal parking", "traffic"),
    ("streetlight", "가로등 고장", "Broken streetlight", "roads"),
    ("pothole", "도로 파손·포트홀", "Pothole or road damage", "roads"),
    ("sidewalk", "보도블록 파손", "Broken sidewalk", "roads"),
    ("traffic_light", "신호등 고장", "Broken traffic light", "traffic"),
    ("abandoned_vehicle", "방치 차량", "Abandoned vehicle", "traffic"),
    ("illegal_dumping", "쓰레기 무단투기", "Illegal dumping", "environment"),
    ("illegal_banner", "불법 현수막", "Illegal banner", "urban_design"),
    ("noise", "생활 소음", "Noise", "environment"),
    ("odor", "악취", "Bad smell", "environment"),
    ("fallen_tree", "쓰러진 나무·가로수", "Fallen tree", "parks"),
    ("park_facility", "공원 시설 파손", "Broken park facility", "parks"),
    ("water_leak", "상수도 누수", "Water leak", "water"),
    ("snow_ice", "제설·결빙", "Snow or ice on the road", "roads"),
    ("other", "기타 생활불편", "Other problem", "civil_affairs"),
)


def _utc() -> api.core.database.UTCDateTime:
    return api.core.database.UTCDateTime(timezone=True)


def upgrade() -> None:
    kinds = op.create_table(
        "report_kinds",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name_ko", sa.String(length=60), nullable=False),
        sa.Column("name_en", sa.String(length=60), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_report_kinds")),
    )
    op.create_table(
        "report_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_no", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("department", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("place_name", sa.String(length=120), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("district", sa.String(length=40), nullable=True),
        sa.Column("callback_phone", sa.String(length=20), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=True),
        sa.Column("consented_at", _utc(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("due_at", _utc(), nullable=False),
        sa.Column("first_answered_at", _utc(), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.Text(), nullable=True),
        sa.Column("rated_at", _utc(), nullable=True),
        sa.Column("purge_after", _utc(), nullable=True),
        sa.Column("purged_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["kind"], ["report_kinds.code"], name=op.f("fk_report_cases_kind_report_kinds")),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["staff_users.id"],
            name=op.f("fk_report_cases_assignee_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_cases")),
        sa.UniqueConstraint("receipt_no", name=op.f("uq_report_cases_receipt_no")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_report_cases_idempotency_key")),
    )
    op.create_index("ix_report_cases_status_department", "report_cases", ["status", "department"], unique=False)
    op.create_index("ix_report_cases_kind_created", "report_cases", ["kind", "created_at"], unique=False)
    op.create_index("ix_report_cases_purge_after", "report_cases", ["purge_after"], unique=False)
    op.create_table(
        "report_reporters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["report_cases.id"], name=op.f("fk_report_reporters_case_id_report_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_report_reporters_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_reporters")),
        sa.UniqueConstraint("case_id", "conversation_id", name=op.f("uq_report_reporters_case_id_conversation_id")),
    )
    op.create_index(op.f("ix_report_reporters_conversation_id"), "report_reporters", ["conversation_id"], unique=False)
    op.create_table(
        "report_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("department", sa.String(length=20), nullable=True),
        sa.Column("public_text", sa.Text(), nullable=True),
        sa.Column("private_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["report_cases.id"], name=op.f("fk_report_events_case_id_report_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_users.id"], name=op.f("fk_report_events_staff_id_staff_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_events")),
    )
    op.create_index("ix_report_events_case", "report_events", ["case_id", "id"], unique=False)
    op.create_table(
        "report_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["report_cases.id"], name=op.f("fk_report_photos_case_id_report_cases"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_report_photos_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_photos")),
    )
    op.create_index(
        "ix_report_photos_conversation_sha256", "report_photos", ["conversation_id", "sha256"], unique=False
    )
    op.create_index("ix_report_photos_case", "report_photos", ["case_id"], unique=False)
    seeded_at = datetime.now(UTC)
    op.bulk_insert(
        kinds,
        [
            {
                "code": code,
                "name_ko": name_ko,
                "name_en": name_en,
                "department": department,
                "active": True,
                "created_at": seeded_at,
            }
            for code, name_ko, name_en, department in KINDS
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_report_photos_case", table_name="report_photos")
    op.drop_index("ix_report_photos_conversation_sha256", table_name="report_photos")
    op.drop_table("report_photos")
    op.drop_index("ix_report_events_case", table_name="report_events")
    op.drop_table("report_events")
    op.drop_index(op.f("ix_report_reporters_conversation_id"), table_name="report_reporters")
    op.drop_table("report_reporters")
    op.drop_index("ix_report_cases_purge_after", table_name="report_cases")
    op.drop_index("ix_report_cases_kind_created", table_name="report_cases")
    op.drop_index("ix_report_cases_status_department", table_name="report_cases")
    op.drop_table("report_cases")
    op.drop_table("report_kinds")
