"""The open-data registry: datasets and their versions, importing a CSV file, reading and filtering live rows."""

from collections import OrderedDict
from threading import Lock
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.opendata import csv_import, shape
from api.opendata.errors import DatasetNotFound, InvalidFilter, InvalidMetadata, MalformedFile
from api.opendata.models import Dataset, DatasetColumn, DatasetVersion
from api.opendata.schemas import (
    ColumnOut,
    DatasetMetadata,
    DatasetOut,
    DatasetSummary,
    ShapeIn,
    ShapeOut,
    TopicOut,
    VersionOut,
)
from common.clock import utcnow

TOPIC_LABELS = {
    "tourism": ("관광", "Tourism"),
    "population": ("인구", "Population"),
    "facilities": ("공공시설", "Public facilities"),
    "transport": ("교통", "Transport"),
    "environment": ("환경", "Environment"),
    "economy": ("경제", "Economy"),
    "welfare": ("복지", "Welfare"),
    "culture": ("문화", "Culture"),
    "safety": ("안전", "Safety"),
}
REQUIRED_FOR_NEW = ("topic", "title_ko", "title_en", "source", "licence")
COPIED_FIELDS = (
    "topic",
    "title_ko",
    "title_en",
    "description_ko",
    "description_en",
    "source",
    "source_en",
    "source_url",
    "licence",
    "update_frequency",
    "keywords_ko",
    "keywords_en",
    "row_label_ko",
    "row_label_en",
    "is_sample",
)
TIME_TYPES = {"month", "quarter", "year", "date"}
NUMERIC_TYPES = {"integer", "number"}
RANGE_SUFFIXES = ("__from", "__to")
_FRAME_CACHE_SIZE = 32
_frames: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
_frames_lock = Lock()


def import_version(
    session: Session, metadata: DatasetMetadata, raw: bytes, filename: str, imported_by: str
) -> DatasetVersion:
    """Validates the file whole, then makes it the dataset's live version (registering the dataset if new).

    Nothing is written unless the file validates: a refused file leaves the live version as it was.
    """
    dataset = session.get(Dataset, metadata.id)
    if dataset is None:
        parsed = _parse_new(metadata, raw)
        dataset = _new_dataset(metadata, parsed)
        _infer_shape(dataset, parsed.frame, {spec.name: spec.role for spec in metadata.columns if spec.role})
        session.add(dataset)
    else:
        parsed = csv_import.parse_csv(
            raw, {c.name: c.type for c in dataset.columns}, expected=[c.name for c in dataset.columns]
        )
        _update_metadata(dataset, metadata)
        if not dataset.shape_confirmed:
            _infer_shape(dataset, parsed.frame, _declared_roles(dataset))
    if _names_shape(metadata):
        apply_shape(dataset, parsed.frame, _shape_from_metadata(dataset, metadata))
    previous = live_version(session, dataset.id)
    if previous is not None:
        previous.status = "superseded"
        session.flush()
    version = DatasetVersion(
        dataset=dataset,
        number=(max((v.number for v in dataset.versions), default=0) + 1),
        status="live",
        filename=filename[:200] or "upload.csv",
        encoding=parsed.encoding,
        row_count=parsed.row_count,
        checksum=parsed.checksum,
        content=csv_import.to_csv(parsed.frame[[c.name for c in dataset.columns]]),
        imported_by=imported_by,
    )
    dataset.updated_at = utcnow()
    session.add(version)
    session.flush()
    return version


def set_shape(session: Session, dataset: Dataset, correction: ShapeIn) -> Dataset:
    """An admin's correction of what the table is; from then on a new version keeps it. A field not sent keeps
    its value (correcting the total row alone does not drop the time axis)."""
    frame = live_frame(session, dataset)[1]
    now, sent = shape_out(dataset), correction.model_fields_set
    correction = ShapeIn(
        entity_column=correction.entity_column if "entity_column" in sent else now.entity_column,
        time_column=correction.time_column if "time_column" in sent else now.time_column,
        total_row=correction.total_row if "total_row" in sent else now.total_row,
        roles=correction.roles,
    )
    apply_shape(dataset, frame, correction)
    dataset.updated_at = utcnow()
    session.flush()
    return dataset


def apply_shape(dataset: Dataset, frame: pd.DataFrame, correction: ShapeIn) -> None:
    columns = {column.name: column for column in dataset.columns}
    named = [correction.entity_column, correction.time_column, *correction.roles]
    unknown = [name for name in named if name and name not in columns]
    if unknown:
        raise InvalidMetadata(
            f"The dataset has no column {', '.join(unknown)}; columns: {', '.join(columns)}.",
            f"데이터셋에 {', '.join(unknown)} 열이 없어요. 열: {', '.join(columns)}.",
        )
    if correction.entity_column and columns[correction.entity_column].type != "text":
        english, korean = csv_import.TYPE_NAMES[columns[correction.entity_column].type]
        raise InvalidMetadata(
            f"{correction.entity_column} holds {english} values, not names.",
            f"'{correction.entity_column}' 열은 이름이 아니라 {korean} 값이에요.",
        )
    if correction.time_column and columns[correction.time_column].type not in shape.TIME_TYPES:
        raise InvalidMetadata(
            f"{correction.time_column} is not a year, month or date column, so it cannot be the time axis.",
            f"'{correction.time_column}' 열은 연도·연월·날짜가 아니라 시간 축이 될 수 없어요.",
        )
    if correction.total_row and not _has_value(frame, correction.entity_column, correction.total_row):
        raise InvalidMetadata(
            f"No row is named {correction.total_row!r}, so it cannot be the total row.",
            f"'{correction.total_row}' 이름의 행이 없어 합계 행으로 정할 수 없어요.",
        )
    for name, role in correction.roles.items():
        columns[name].role = role
    for column in dataset.columns:
        if column.role == "time" and column.name != correction.time_column:
            column.role = "attribute"
    if correction.time_column:
        columns[correction.time_column].role = "time"
    if correction.entity_column:
        columns[correction.entity_column].role = "dimension"
    dataset.entity_column = correction.entity_column
    dataset.total_row = correction.total_row
    dataset.shape_kind = shape.kind_of(correction.entity_column, correction.time_column)
    dataset.shape_confirmed = True


def shape_out(dataset: Dataset) -> ShapeOut:
    by_role: dict[str, list[str]] = {}
    for column in dataset.columns:
        by_role.setdefault(column.role, []).append(column.name)
    time_column = next((c.name for c in dataset.columns if c.role == "time"), None)
    return ShapeOut(
        kind=dataset.shape_kind or shape.kind_of(dataset.entity_column, time_column),
        entity_column=dataset.entity_column,
        time_column=time_column,
        total_row=dataset.total_row,
        measures=by_role.get("measure", []),
        dimensions=[name for name in by_role.get("dimension", []) if name != dataset.entity_column],
        attributes=by_role.get("attribute", []),
        inferred=not dataset.shape_confirmed,
    )


def ensure_shape(dataset: Dataset, frame: pd.DataFrame) -> None:
    """A dataset imported before shapes existed is read as an upload would be (saved when the session commits)."""
    if dataset.shape_kind is None:
        _infer_shape(dataset, frame, _declared_roles(dataset))


def list_datasets(session: Session, topic: str | None = None) -> list[Dataset]:
    query = select(Dataset).options(selectinload(Dataset.columns)).order_by(Dataset.topic, Dataset.id)
    if topic:
        query = query.where(Dataset.topic == topic)
    return list(session.scalars(query))


def get_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise DatasetNotFound(f"No dataset {dataset_id!r}.", f"'{dataset_id}' 데이터셋이 없어요.")
    return dataset


def live_version(session: Session, dataset_id: str) -> DatasetVersion | None:
    return session.scalar(
        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id, DatasetVersion.status == "live")
    )


def live_frame(session: Session, dataset: Dataset) -> tuple[DatasetVersion, pd.DataFrame]:
    """The live version and its typed table; tables are cached by the file's checksum and column types."""
    version = live_version(session, dataset.id)
    if version is None:
        raise DatasetNotFound(
            f"Dataset {dataset.id!r} has no data yet.", f"'{dataset.id}' 데이터셋에 아직 데이터가 없어요."
        )
    types = {column.name: column.type for column in dataset.columns}
    key = (version.checksum, tuple(types.items()))
    with _frames_lock:
        frame = _frames.get(key)
        if frame is not None:
            _frames.move_to_end(key)
    if frame is None:
        frame = csv_import.read_stored(version.content, types)
        with _frames_lock:
            _frames[key] = frame
            while len(_frames) > _FRAME_CACHE_SIZE:
                _frames.popitem(last=False)
    ensure_shape(dataset, frame)
    return version, frame


def dataset_rows(session: Session, dataset_id: str) -> list[dict[str, Any]]:
    """Every live row of a dataset as plain Python values (None for blanks)."""
    dataset = get_dataset(session, dataset_id)
    return records(live_frame(session, dataset)[1])


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    plain = frame.astype(object).where(frame.notna(), None)
    return [{name: _plain(value) for name, value in row.items()} for row in plain.to_dict(orient="records")]


def filter_frame(dataset: Dataset, frame: pd.DataFrame, params: list[tuple[str, str]]) -> pd.DataFrame:
    """Rows matching `column=value` (repeat for any of several), `column__from=` and `column__to=` (inclusive)."""
    columns = {column.name: column for column in dataset.columns}
    wanted: dict[str, list[Any]] = {}
    mask = pd.Series(True, index=frame.index)
    for key, raw in params:
        name, bound = _split_bound(key)
        column = columns.get(name)
        if column is None:
            raise InvalidFilter(
                f"{name!r} is not a column of this dataset; columns: {', '.join(columns)}.",
                f"'{name}'은(는) 이 데이터셋의 열이 아니에요. 열: {', '.join(columns)}.",
            )
        value = _typed(column, raw)
        if bound == "__from":
            mask &= (frame[name] >= value).fillna(False)
        elif bound == "__to":
            mask &= (frame[name] <= value).fillna(False)
        else:
            wanted.setdefault(name, []).append(value)
    for name, values in wanted.items():
        mask &= frame[name].isin(values).fillna(False)
    return frame[mask]


def sort_frame(frame: pd.DataFrame, sort: str | None) -> pd.DataFrame:
    if not sort:
        return frame
    name = sort.removeprefix("-")
    if name not in frame.columns:
        raise InvalidFilter(f"Cannot sort by {name!r}: no such column.", f"'{name}' 열이 없어 정렬할 수 없어요.")
    return frame.sort_values(name, ascending=not sort.startswith("-"), kind="stable")


def catalog(session: Session, base_url: str) -> list[TopicOut]:
    by_topic: dict[str, list[DatasetSummary]] = {}
    for dataset in list_datasets(session):
        by_topic.setdefault(dataset.topic, []).append(summary(session, dataset, base_url))
    return [
        TopicOut(topic=topic, label_ko=_topic_label(topic)[0], label_en=_topic_label(topic)[1], datasets=datasets)
        for topic, datasets in by_topic.items()
    ]


def summary(session: Session, dataset: Dataset, base_url: str) -> DatasetSummary:
    version = live_version(session, dataset.id)
    return DatasetSummary(
        id=dataset.id,
        topic=dataset.topic,
        title_ko=dataset.title_ko,
        title_en=dataset.title_en,
        is_sample=dataset.is_sample,
        update_frequency=dataset.update_frequency,
        last_updated=version.imported_at if version else None,
        row_count=version.row_count if version else 0,
        link=dataset_link(base_url, dataset.id),
    )


def detail(session: Session, dataset: Dataset, base_url: str) -> DatasetOut:
    version = live_version(session, dataset.id)
    if version is not None and dataset.shape_kind is None:
        live_frame(session, dataset)  # reads the shape of a dataset imported before shapes existed
    coverage = None
    time_column = next((c for c in dataset.columns if c.role == "time"), None)
    if version is not None and time_column is not None:
        values = live_frame(session, dataset)[1][time_column.name].dropna()
        if len(values):
            coverage = {"column": time_column.name, "first": _plain(values.min()), "last": _plain(values.max())}
    link = dataset_link(base_url, dataset.id)
    return DatasetOut(
        **summary(session, dataset, base_url).model_dump(),
        description_ko=dataset.description_ko,
        description_en=dataset.description_en,
        source=dataset.source,
        source_en=dataset.source_en,
        source_url=dataset.source_url,
        licence=dataset.licence,
        keywords_ko=dataset.keywords_ko,
        keywords_en=dataset.keywords_en,
        row_label_ko=dataset.row_label_ko,
        row_label_en=dataset.row_label_en,
        total_column=dataset.total_column,
        columns=[ColumnOut.model_validate(column) for column in dataset.columns],
        shape=shape_out(dataset),
        version=VersionOut.model_validate(version) if version else None,
        coverage=coverage,
        rows_link=f"{link}/rows",
        csv_link=f"{link}/rows?format=csv",
    )


def dataset_link(base_url: str, dataset_id: str) -> str:
    return f"{base_url.rstrip('/')}/api/datasets/{dataset_id}"


def dataset_page(base_url: str, dataset_id: str, language: str) -> str:
    """The page a citizen opens for a dataset (api/web/public_data.py), in their language."""
    return f"{base_url.rstrip('/')}/data/{dataset_id}" + ("?lang=en" if language == "en" else "")


def _parse_new(metadata: DatasetMetadata, raw: bytes) -> csv_import.ParsedFile:
    missing = [name for name in REQUIRED_FOR_NEW if not getattr(metadata, name)]
    if missing:
        raise InvalidMetadata(
            f"A new dataset needs {', '.join(missing)}.", f"새 데이터셋에는 {', '.join(missing)} 항목이 필요해요."
        )
    declared = {spec.name: spec.type for spec in metadata.columns if spec.type}
    parsed = csv_import.parse_csv(raw, declared)
    unknown = [spec.name for spec in metadata.columns if spec.name not in parsed.types]
    if metadata.total_column and metadata.total_column not in parsed.types:
        unknown.append(metadata.total_column)
    if unknown:
        raise InvalidMetadata(
            f"The metadata describes columns the file does not have: {', '.join(unknown)}.",
            f"메타데이터에 파일에 없는 열이 있어요: {', '.join(unknown)}.",
        )
    return parsed


def _new_dataset(metadata: DatasetMetadata, parsed: csv_import.ParsedFile) -> Dataset:
    specs = {spec.name: spec for spec in metadata.columns}
    dataset = Dataset(
        id=metadata.id,
        **{name: getattr(metadata, name) for name in COPIED_FIELDS if getattr(metadata, name) is not None},
        total_column=metadata.total_column,
    )
    for position, (name, column_type) in enumerate(parsed.types.items()):
        spec = specs.get(name)
        aliases_en = spec.aliases_en if spec else []
        dataset.columns.append(
            DatasetColumn(
                position=position,
                name=name,
                type=column_type,
                role=(spec.role if spec and spec.role else "dimension"),
                label_ko=(spec.label_ko if spec and spec.label_ko else name),
                label_en=(spec.label_en if spec and spec.label_en else (aliases_en[0] if aliases_en else name)),
                unit_ko=spec.unit_ko if spec else "",
                unit_en=spec.unit_en if spec else "",
                aliases_ko=spec.aliases_ko if spec else [],
                aliases_en=aliases_en,
                time_aggregation=spec.time_aggregation if spec else "sum",
            )
        )
    return dataset


def _update_metadata(dataset: Dataset, metadata: DatasetMetadata) -> None:
    for name in COPIED_FIELDS:
        value = getattr(metadata, name)
        if value is not None:
            setattr(dataset, name, value)
    columns = {column.name: column for column in dataset.columns}
    for spec in metadata.columns:
        column = columns.get(spec.name)
        if column is None:
            raise InvalidMetadata(
                f"The metadata describes a column the dataset does not have: {spec.name}.",
                f"메타데이터에 데이터셋에 없는 열이 있어요: {spec.name}.",
            )
        if spec.type and spec.type != column.type:
            raise InvalidMetadata(
                f"Column {spec.name} is {column.type}; a new version cannot change its type.",
                f"'{spec.name}' 열은 {column.type} 형식이라 새 버전에서 바꿀 수 없어요.",
            )
        for field in ("label_ko", "label_en", "role"):
            if getattr(spec, field):
                setattr(column, field, getattr(spec, field))
        if spec.aliases_ko:
            column.aliases_ko = spec.aliases_ko
        if spec.aliases_en:
            column.aliases_en = spec.aliases_en
        if spec.unit_ko or spec.unit_en:
            column.unit_ko, column.unit_en = spec.unit_ko, spec.unit_en


def _infer_shape(dataset: Dataset, frame: pd.DataFrame, declared_roles: dict[str, str]) -> None:
    inferred = shape.infer(frame, {c.name: c.type for c in dataset.columns}, declared_roles)
    for column in dataset.columns:
        column.role = inferred.roles[column.name]
    dataset.entity_column = inferred.entity_column
    dataset.total_row = inferred.total_row
    dataset.shape_kind = inferred.kind


def _declared_roles(dataset: Dataset) -> dict[str, str]:
    """Roles that are not what the column's type would give by default: an admin or the catalogue chose them."""
    return {column.name: column.role for column in dataset.columns if column.role != _default_role(column.type)}


def _default_role(column_type: str) -> str:
    if column_type in TIME_TYPES:
        return "time"
    if column_type in NUMERIC_TYPES:
        return "measure"
    return "dimension"


def _names_shape(metadata: DatasetMetadata) -> bool:
    return any(value is not None for value in (metadata.entity_column, metadata.time_column, metadata.total_row))


def _shape_from_metadata(dataset: Dataset, metadata: DatasetMetadata) -> ShapeIn:
    time_now = next((c.name for c in dataset.columns if c.role == "time"), None)
    return ShapeIn(
        entity_column=metadata.entity_column if metadata.entity_column is not None else dataset.entity_column,
        time_column=(metadata.time_column or None) if metadata.time_column is not None else time_now,
        total_row=metadata.total_row if metadata.total_row is not None else dataset.total_row,
    )


def _has_value(frame: pd.DataFrame, column: str | None, value: str) -> bool:
    names = [column] if column else [name for name in frame.columns if frame[name].dtype == "string"]
    return any((frame[name] == value).fillna(False).any() for name in names)


def _split_bound(key: str) -> tuple[str, str | None]:
    for suffix in RANGE_SUFFIXES:
        if key.endswith(suffix):
            return key.removesuffix(suffix), suffix
    return key, None


def _typed(column: DatasetColumn, raw: str) -> Any:
    try:
        value = csv_import.convert(pd.Series([raw], dtype="string"), column.type, column.name, [0]).iloc[0]
    except MalformedFile as error:
        english, korean = csv_import.TYPE_NAMES[column.type]
        raise InvalidFilter(
            f"Filter on {column.name} needs {english}, not {raw!r}.",
            f"'{column.name}' 조건에는 {korean} 값이 필요해요('{raw}' 말고요).",
        ) from error
    if value is pd.NA or value is None:
        raise InvalidFilter(f"Filter on {column.name} needs a value.", f"'{column.name}' 조건에 값이 필요해요.")
    return _plain(value)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def _topic_label(topic: str) -> tuple[str, str]:
    return TOPIC_LABELS.get(topic, (topic, topic))
