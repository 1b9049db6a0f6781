"""Tables of the open-data registry: datasets, their columns, their imported versions, and rendered charts."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from api.core.database import Base, UTCDateTime
from common.clock import utcnow

COLUMN_TYPES = ("integer", "number", "text", "boolean", "month", "quarter", "year", "date")
COLUMN_ROLES = ("time", "measure", "dimension", "latitude", "longitude", "attribute")
UPDATE_FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "yearly", "irregular", "once")


class Dataset(Base):
    __tablename__ = "datasets"

    # A readable slug ("dmz-peace-tourism-monthly"): it is the id in every URL.
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), index=True)
    title_ko: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200))
    description_ko: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200))
    # The publisher in English, for English answers; empty: `source` is shown as it is.
    source_en: Mapped[str] = mapped_column(String(200), default="")
    source_url: Mapped[str] = mapped_column(String(500), default="")
    licence: Mapped[str] = mapped_column(String(200))
    update_frequency: Mapped[str] = mapped_column(String(16), default="irregular")
    keywords_ko: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords_en: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What one row is, for counting ("공영주차장" / "public parking lots"); empty: rows.
    row_label_ko: Mapped[str] = mapped_column(String(80), default="")
    row_label_en: Mapped[str] = mapped_column(String(80), default="")
    # Made-up figures for demonstration: every answer from it says so.
    is_sample: Mapped[bool] = mapped_column(default=False)
    # The measure that is the whole of the others (총관광객수 = 내국인수 + 외국인수), for shares.
    total_column: Mapped[str | None] = mapped_column(String(80))
    # The table's shape (api/opendata/shape.py): series, snapshot or panel (None: not read yet, as for datasets
    # imported before shapes existed), the column naming the things it lists, the value marking its total row,
    # and whether an admin confirmed or corrected what was inferred. The time axis is the column whose role is
    # "time".
    shape_kind: Mapped[str | None] = mapped_column(String(16))
    entity_column: Mapped[str | None] = mapped_column(String(80))
    total_row: Mapped[str | None] = mapped_column(String(80))
    shape_confirmed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    columns: Mapped[list["DatasetColumn"]] = relationship(
        back_populates="dataset", order_by="DatasetColumn.position", cascade="all, delete-orphan"
    )
    versions: Mapped[list["DatasetVersion"]] = relationship(
        back_populates="dataset", order_by="DatasetVersion.number", cascade="all, delete-orphan"
    )


class DatasetColumn(Base):
    __tablename__ = "dataset_columns"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    label_ko: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))
    unit_ko: Mapped[str] = mapped_column(String(20), default="")
    unit_en: Mapped[str] = mapped_column(String(40), default="")
    aliases_ko: Mapped[list[str]] = mapped_column(JSON, default=list)
    aliases_en: Mapped[list[str]] = mapped_column(JSON, default=list)
    # How a measure combines over time: "sum" for flows (visitors a month), "last" for stocks (population).
    time_aggregation: Mapped[str] = mapped_column(String(8), default="sum")

    dataset: Mapped[Dataset] = relationship(back_populates="columns")


class DatasetVersion(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "number"),
        # At most one live version per dataset; earlier ones stay as history.
        Index(
            "uq_dataset_versions_live",
            "dataset_id",
            unique=True,
            sqlite_where=text("status = 'live'"),
            postgresql_where=text("status = 'live'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # live | superseded
    filename: Mapped[str] = mapped_column(String(200))
    encoding: Mapped[str] = mapped_column(String(16))
    row_count: Mapped[int]
    # SHA-256 of the file exactly as uploaded.
    checksum: Mapped[str] = mapped_column(String(64))
    # The table as imported: UTF-8 CSV with clean headers and normalised values.
    content: Mapped[str] = deferred(mapped_column(Text))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(254))

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class Chart(Base):
    __tablename__ = "opendata_charts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    png: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    query: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def columns_of(dataset: Dataset) -> dict[str, DatasetColumn]:
    return {column.name: column for column in dataset.columns}


def time_column_of(dataset: Dataset) -> DatasetColumn | None:
    """The dataset's time axis (the column whose role is "time"), or None for a table without one."""
    return next((column for column in dataset.columns if column.role == "time"), None)
