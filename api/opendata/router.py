"""HTTP routes of the open-data domain: the dataset registry, rows and downloads, uploads, questions and charts."""

import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from pydantic import ValidationError

from api.core.spreadsheet import csv_download
from api.deps import AdminDep, ServiceDep, SessionDep
from api.opendata import asking, service
from api.opendata.errors import InvalidMetadata, MalformedFile
from api.opendata.models import Dataset, DatasetVersion
from api.opendata.schemas import (
    AskIn,
    AskOut,
    DatasetMetadata,
    DatasetOut,
    DatasetSummary,
    QueryOut,
    RowsPage,
    ShapeIn,
    StructuredQuery,
    TopicOut,
)
from api.staff.service import audit
from common import clock

router = APIRouter(prefix="/api", tags=["opendata"])
ROW_PARAMETERS = {"format", "limit", "offset", "sort"}
DEFAULT_PAGE, MAX_PAGE = 100, 1000


def current_time() -> datetime:
    """Now in Asia/Seoul; tests override this dependency to fix "last month" and "this year"."""
    return clock.now()


def _base_url(request: Request) -> str:
    return request.app.state.settings.public_url


def read_upload(file: UploadFile, limit: int) -> bytes:
    """The uploaded CSV file's bytes; a file over the limit is refused before it is parsed."""
    raw = file.file.read(limit + 1)
    if len(raw) > limit:
        raise MalformedFile(f"The file is larger than {limit:,} bytes.", f"파일이 {limit:,}바이트보다 커요.", line=None)
    return raw


def upload_audit_detail(version: DatasetVersion) -> str:
    return f"version {version.number}: {version.filename}"


def shape_audit_detail(dataset: Dataset) -> str:
    """The audit log's words for a dataset's shape after an admin confirmed or corrected it."""
    shown = service.shape_out(dataset)
    return (
        f"{shown.kind}; rows named by {shown.entity_column or '-'}; time {shown.time_column or '-'}; "
        f"total row {shown.total_row or '-'}"
    )


@router.get("/datasets", response_model=list[DatasetSummary])
def list_datasets(request: Request, session: SessionDep, topic: str | None = None) -> list[DatasetSummary]:
    return [service.summary(session, dataset, _base_url(request)) for dataset in service.list_datasets(session, topic)]


@router.get("/datasets/{dataset_id}", response_model=DatasetOut)
def get_dataset(dataset_id: str, request: Request, session: SessionDep) -> DatasetOut:
    return service.detail(session, service.get_dataset(session, dataset_id), _base_url(request))


@router.get(
    "/datasets/{dataset_id}/rows",
    response_model=RowsPage,
    responses={200: {"content": {"text/csv": {}}}},
    description="Filters: `column=value` (repeat for any of several), `column__from=` and `column__to=` (inclusive). "
    "`format=csv` downloads every matching row (UTF-8 with BOM, for spreadsheet programs) unless `limit` is given.",
)
def dataset_rows(
    dataset_id: str,
    request: Request,
    session: SessionDep,
    format: Literal["json", "csv"] = "json",
    limit: Annotated[int | None, Query(ge=1, le=MAX_PAGE)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    sort: str | None = None,
):
    dataset = service.get_dataset(session, dataset_id)
    version, frame = service.live_frame(session, dataset)
    filters = [(key, value) for key, value in request.query_params.multi_items() if key not in ROW_PARAMETERS]
    matching = service.sort_frame(service.filter_frame(dataset, frame, filters), sort)
    if format == "csv":
        page = matching.iloc[offset : offset + limit] if limit else matching.iloc[offset:]
        rows = (list(record.values()) for record in service.records(page))
        return csv_download(f"{dataset.id}.csv", list(page.columns), rows)
    limit = limit or DEFAULT_PAGE
    return RowsPage(
        dataset=dataset.id,
        version=version.number,
        columns=list(frame.columns),
        total=len(matching),
        offset=offset,
        limit=limit,
        rows=service.records(matching.iloc[offset : offset + limit]),
    )


@router.post("/datasets", response_model=DatasetOut, status_code=201)
def upload_dataset(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
    file: Annotated[UploadFile, File(description="The CSV file: UTF-8, UTF-8 with BOM, or CP949")],
    metadata: Annotated[str, Form(description="The registry entry as JSON (DatasetMetadata)")],
) -> DatasetOut:
    """A new dataset, or a new version of an existing one (same id).

    The live version changes only if the whole file validates."""
    try:
        entry = DatasetMetadata.model_validate(json.loads(metadata))
    except (ValueError, ValidationError) as error:
        raise InvalidMetadata(f"The metadata is not valid: {error}", f"메타데이터가 올바르지 않아요: {error}") from None
    raw = read_upload(file, request.app.state.settings.opendata_max_upload_bytes)
    version = service.import_version(session, entry, raw, file.filename or "upload.csv", imported_by=admin.email)
    audit(session, admin, "upload_dataset", f"dataset:{entry.id}", upload_audit_detail(version))
    session.commit()
    return service.detail(session, service.get_dataset(session, entry.id), _base_url(request))


@router.put("/datasets/{dataset_id}/shape", response_model=DatasetOut)
def correct_shape(
    dataset_id: str,
    correction: ShapeIn,
    request: Request,
    session: SessionDep,
    admin: AdminDep,
) -> DatasetOut:
    """An admin's correction of what the table is (the column naming its rows, its time axis, its total row)."""
    dataset = service.set_shape(session, service.get_dataset(session, dataset_id), correction)
    audit(session, admin, "correct_dataset_shape", f"dataset:{dataset_id}", shape_audit_detail(dataset))
    session.commit()
    return service.detail(session, dataset, _base_url(request))


@router.get("/opendata/catalog", response_model=list[TopicOut])
def catalog(request: Request, session: SessionDep) -> list[TopicOut]:
    """Every dataset, grouped by topic (tourism, population, facilities, …)."""
    return service.catalog(session, _base_url(request))


@router.post("/opendata/ask", response_model=AskOut, dependencies=[ServiceDep])
def ask(body: AskIn, request: Request, session: SessionDep, now: Annotated[datetime, Depends(current_time)]) -> AskOut:
    return asking.ask(session, body.question, body.language, now, _base_url(request), context=body.context)


@router.post("/opendata/query", response_model=QueryOut, dependencies=[ServiceDep])
def run_query(
    query: StructuredQuery, request: Request, session: SessionDep, language: Literal["ko", "en"] = "ko"
) -> QueryOut:
    """Runs a structured query (as an answer's `query` shows it) again: the same figures, from the same version."""
    return asking.run_query(session, query, language, _base_url(request))


@router.get("/opendata/charts/{chart_id}.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def chart(chart_id: str, session: SessionDep) -> Response:
    return Response(
        asking.chart_png(session, chart_id),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )
