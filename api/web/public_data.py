"""The public page of one open dataset: what a citizen's "데이터 보기" link opens instead of the api's JSON.

Deliberately public (open data, nothing personal), so it is bounded instead of guarded: the app-wide per-address
ceiling (`requests_per_client`) counts every request, the id is checked before any query, and the page shows a
fixed number of rows and columns whatever the dataset's size.
"""

import re
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.opendata import service
from api.opendata.errors import DatasetNotFound
from api.opendata.models import Dataset
from api.web.pages import TEMPLATES

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 12
PREVIEW_COLUMNS = 8
# Dataset ids are readable slugs (api/opendata/models.py); anything else is no dataset, and never reaches a query.
DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
# Open data may be shown anywhere and cached briefly; the page runs no script and loads nothing from elsewhere.
HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
WORDS = {
    "ko": {
        "source": "출처",
        "licence": "이용 조건",
        "period": "기간",
        "updated": "최근 갱신",
        "rows": "전체 행 수",
        "preview": "미리 보기",
        "preview_note": "전체 {total}행 중 {shown}행",
        "latest_note": "최근 것부터",
        "official": "공식 출처에서 전체 데이터 보기",
        "sample": "예시 자료예요. 실제 통계가 아니에요.",
        "no_rows": "아직 올라온 데이터가 없어요.",
        "not_found_title": "데이터를 찾을 수 없어요",
        "not_found": "주소가 바뀌었거나 공개가 끝난 데이터예요. 챗봇에게 '데이터 목록'이라고 물어보세요.",
        "other_language": "English",
        "city": "파주시 공공데이터",
    },
    "en": {
        "source": "Source",
        "licence": "Licence",
        "period": "Period",
        "updated": "Last updated",
        "rows": "Rows",
        "preview": "Preview",
        "preview_note": "{shown} of {total} rows",
        "latest_note": "newest first",
        "official": "Full data at the official source",
        "sample": "Sample data: not official statistics.",
        "no_rows": "No data has been published yet.",
        "not_found_title": "Dataset not found",
        "not_found": "This address has changed or the data is no longer published. Ask the chatbot for the datasets.",
        "other_language": "한국어",
        "city": "Paju City open data",
    },
}


def page_language(request: Request, lang: str | None) -> Literal["ko", "en"]:
    """The language asked for (`?lang=`, as the chat's link says), else the browser's first choice, else Korean."""
    if lang in ("ko", "en"):
        return lang
    first = request.headers.get("accept-language", "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "ko"


@router.get("/data/{dataset_id:path}", response_class=HTMLResponse)
def dataset_page(dataset_id: str, request: Request, session: SessionDep, lang: str | None = None) -> HTMLResponse:
    language = page_language(request, lang)
    words = WORDS[language]
    dataset = None
    if DATASET_ID.match(dataset_id):
        try:
            dataset = service.get_dataset(session, dataset_id)
        except DatasetNotFound:
            dataset = None
    if dataset is None:
        context = {"language": language, "words": words, "dataset": None}
        return _render(request, context, 404)
    context = {"language": language, "words": words, "dataset": dataset_view(session, dataset, language)}
    return _render(request, context, 200)


def dataset_view(session: Session, dataset: Dataset, language: str) -> dict[str, Any]:
    """What the page shows of a dataset: its names, source, period and the newest rows of its first columns."""
    english = language == "en"
    columns = list(dataset.columns)[:PREVIEW_COLUMNS]
    time_column = next((c for c in dataset.columns if c.role == "time"), None)
    view: dict[str, Any] = {
        "id": dataset.id,
        "title": (dataset.title_en or dataset.title_ko) if english else dataset.title_ko,
        "description": (dataset.description_en or dataset.description_ko) if english else dataset.description_ko,
        "source": (dataset.source_en or dataset.source) if english else dataset.source,
        "source_url": dataset.source_url if dataset.source_url.startswith("https://") else "",
        "licence": dataset.licence,
        "is_sample": dataset.is_sample,
        "headers": [(c.label_en or c.name) if english else (c.label_ko or c.name) for c in columns],
        "rows": [],
        "total": 0,
        "period": None,
        "updated": None,
        "newest_first": False,
    }
    try:
        version, frame = service.live_frame(session, dataset)
    except DatasetNotFound:
        return view
    view["total"] = len(frame)
    view["updated"] = version.imported_at.date().isoformat() if version.imported_at else None
    if time_column is not None and time_column.name in frame.columns:
        times = frame[time_column.name].dropna()
        if len(times):
            view["period"] = f"{_shown(times.min())} ~ {_shown(times.max())}"
            frame = frame.sort_values(time_column.name, ascending=False, kind="stable")
            view["newest_first"] = True
    preview = service.records(frame.head(PREVIEW_ROWS)[[c.name for c in columns]])
    view["rows"] = [[_shown(row[c.name]) for c in columns] for row in preview]
    return view


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    text = str(value)
    # A month or day stored as a timestamp reads as the date only.
    return text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[ T]00:00:00", text) else text


def _render(request: Request, context: dict[str, Any], status: int) -> HTMLResponse:
    response = TEMPLATES.TemplateResponse(request, "public_data.html", context, status_code=status)
    response.headers.update(HEADERS)
    return response
