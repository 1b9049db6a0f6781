"""Request and response models of the open-data domain: registry metadata, rows, questions and answers."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.core.ids import Id

ColumnType = Literal["integer", "number", "text", "boolean", "month", "quarter", "year", "date"]
ColumnRole = Literal["time", "measure", "dimension", "latitude", "longitude", "attribute"]
UpdateFrequency = Literal["daily", "weekly", "monthly", "quarterly", "yearly", "irregular", "once"]
Language = Literal["ko", "en"]
Aggregation = Literal["value", "sum", "average", "max", "min", "share", "change", "ranking", "trend", "count"]


class ColumnSpec(BaseModel):
    """What the registry knows of one column; everything but the name is optional on upload."""

    name: str = Field(min_length=1, max_length=80)
    type: ColumnType | None = None
    role: ColumnRole | None = None
    label_ko: str | None = Field(default=None, max_length=120)
    label_en: str | None = Field(default=None, max_length=120)
    unit_ko: str = Field(default="", max_length=20)
    unit_en: str = Field(default="", max_length=40)
    aliases_ko: list[str] = []
    aliases_en: list[str] = []
    time_aggregation: Literal["sum", "last"] = "sum"


class DatasetMetadata(BaseModel):
    """The registry entry sent with an upload. A new dataset needs titles, topic, source and licence;
    a new version of an existing one needs only its id (fields given replace the registry's)."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
    topic: str | None = Field(default=None, max_length=40)
    title_ko: str | None = Field(default=None, max_length=200)
    title_en: str | None = Field(default=None, max_length=200)
    description_ko: str | None = None
    description_en: str | None = None
    source: str | None = Field(default=None, max_length=200)
    source_en: str | None = Field(default=None, max_length=200)
    source_url: str | None = Field(default=None, max_length=500)
    licence: str | None = Field(default=None, max_length=200)
    update_frequency: UpdateFrequency | None = None
    keywords_ko: list[str] | None = None
    keywords_en: list[str] | None = None
    row_label_ko: str | None = Field(default=None, max_length=80)
    row_label_en: str | None = Field(default=None, max_length=80)
    is_sample: bool | None = None
    total_column: str | None = None
    columns: list[ColumnSpec] = []
    # The table's shape, when the admin knows it; otherwise it is inferred from the rows (see ShapeOut).
    # time_column "" says the table has no time axis.
    entity_column: str | None = Field(default=None, max_length=80)
    time_column: str | None = Field(default=None, max_length=80)
    total_row: str | None = Field(default=None, max_length=80)


class ColumnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    type: ColumnType
    role: ColumnRole
    label_ko: str
    label_en: str
    unit_ko: str
    unit_en: str
    aliases_ko: list[str]
    aliases_en: list[str]
    time_aggregation: str


ShapeKind = Literal["series", "snapshot", "panel"]


class ShapeOut(BaseModel):
    """What the table is: one row per time (series), one row per named thing (snapshot: year columns such as
    an opening year are attributes, never a time axis), or named things repeated over time (panel)."""

    kind: ShapeKind
    entity_column: str | None
    time_column: str | None
    total_row: str | None
    measures: list[str]
    dimensions: list[str]
    attributes: list[str]
    # False once an admin has confirmed or corrected it.
    inferred: bool


class ShapeIn(BaseModel):
    """An admin's correction of a dataset's shape: the column naming its rows, its time axis (null: none), the
    value marking a total row (null: none), and any column roles to change."""

    entity_column: str | None = Field(default=None, max_length=80)
    time_column: str | None = Field(default=None, max_length=80)
    total_row: str | None = Field(default=None, max_length=80)
    roles: dict[str, ColumnRole] = Field(default_factory=dict, max_length=200)


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    status: str
    filename: str
    encoding: str
    row_count: int
    checksum: str
    imported_at: datetime


class DatasetSummary(BaseModel):
    id: str
    topic: str
    title_ko: str
    title_en: str
    is_sample: bool
    update_frequency: UpdateFrequency
    last_updated: datetime | None
    row_count: int
    link: str


class DatasetOut(DatasetSummary):
    description_ko: str
    description_en: str
    source: str
    source_en: str
    source_url: str
    licence: str
    keywords_ko: list[str]
    keywords_en: list[str]
    row_label_ko: str
    row_label_en: str
    total_column: str | None
    columns: list[ColumnOut]
    shape: ShapeOut
    version: VersionOut | None
    # First and last period of the time column, when there is one ("2024-01", "2025-10").
    coverage: dict[str, Any] | None
    rows_link: str
    csv_link: str


class RowsPage(BaseModel):
    dataset: str
    version: int
    columns: list[str]
    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]


class TopicOut(BaseModel):
    topic: str
    label_ko: str
    label_en: str
    datasets: list[DatasetSummary]


class Period(BaseModel):
    """A span of months, both ends included; yearly data compares years, monthly data months."""

    start: str = Field(pattern=r"^\d{4}-\d{2}$")
    end: str = Field(pattern=r"^\d{4}-\d{2}$")


class Filter(BaseModel):
    column: str
    values: list[Any] = Field(min_length=1)


class StructuredQuery(BaseModel):
    """What a question was understood as; running it again gives the same figures (POST /api/opendata/query)."""

    dataset: str
    version: Id | None = None
    measure: str | None = None
    aggregation: Aggregation = "value"
    filters: list[Filter] = []
    period: Period | None = None
    # The second period of a change: the answer goes from `compare_period` to `period`.
    compare_period: Period | None = None
    group_by: str | None = None
    # Months grouped into years when a monthly table is asked for yearly figures.
    time_grain: Literal["month", "year"] | None = None
    order: Literal["desc", "asc"] = "desc"
    limit: int | None = Field(default=None, ge=1, le=100)


class Figure(BaseModel):
    label: str
    value: float | int | None
    formatted: str
    unit: str
    column: str | None
    period: str | None = None


class DatasetRef(BaseModel):
    id: str
    title: str
    source: str
    source_url: str
    licence: str
    link: str
    # The dataset's readable page for people (api/web/public_data.py), in the answer's language; `link` is JSON.
    page: str
    is_sample: bool


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=500)
    language: Language | None = None
    # The query of the conversation's last answered question: a follow-up ("그럼 외국인은?", "작년은?",
    # "in 2024?", "그래프로 보여줘") reuses its dataset, measure, filters and period.
    context: StructuredQuery | None = None


class Choice(BaseModel):
    """One way to make an ambiguous question answerable: a button's title and the whole question it asks."""

    title: str
    question: str


RefusalReason = Literal[
    "no_dataset",
    "no_rows",
    "no_period",
    "unknown_row",
    "ambiguous_row",
    "ambiguous_measure",
    "unknown_measure",
    "not_computable",
]


class AskOut(BaseModel):
    answered: bool
    language: Language
    answer: str
    numbers: list[Figure]
    dataset: DatasetRef | None
    query: StructuredQuery | None
    explanation: str | None
    chart_url: str | None
    suggestions: list[DatasetRef]
    # When the question is ambiguous or names something the data lacks: what to ask instead (answered is false).
    choices: list[Choice] = []
    reason: RefusalReason | None = None


class QueryOut(BaseModel):
    language: Language
    answer: str
    numbers: list[Figure]
    dataset: DatasetRef
    query: StructuredQuery
    explanation: str
    chart_url: str | None


class PlaceOut(BaseModel):
    name: str
    name_en: str
    lat: float
    lon: float
