"""Admin pages for open datasets: the registry, each dataset's inferred shape in plain words with a form to confirm
or correct it, and CSV uploads (a new dataset, or a new version of one)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.core.errors import DomainError, InvalidInput
from api.deps import SessionDep
from api.opendata import service
from api.opendata.models import Dataset, DatasetVersion
from api.opendata.router import read_upload, shape_audit_detail, upload_audit_detail
from api.opendata.schemas import DatasetMetadata, ShapeIn, ShapeOut
from api.staff.service import audit
from api.web.auth import AdminForm, AdminPage, Signed
from api.web.pages import error_page, render

router = APIRouter(prefix="/console/admin/datasets", include_in_schema=False)
HOME = "/console/admin/datasets"
DatasetId = Annotated[str, Path(max_length=80)]
Line = Annotated[str, Form(max_length=300)]
Name = Annotated[str, Form(max_length=80)]
PREVIEW_ROWS = 10
KINDS = {"series": "시계열", "snapshot": "목록(스냅숏)", "panel": "목록×기간(패널)"}
ROLES = {
    "measure": "측정값",
    "dimension": "구분",
    "attribute": "속성",
    "time": "시간 축",
    "latitude": "위도",
    "longitude": "경도",
}
TYPES = {
    "integer": "정수",
    "number": "숫자",
    "text": "글자",
    "boolean": "예/아니오",
    "month": "연월",
    "year": "연도",
    "date": "날짜",
}
ENCODINGS = {"utf-8": "UTF-8", "utf-8-bom": "UTF-8 (BOM 포함)", "cp949": "CP949 (엑셀 한글)"}
FREQUENCIES = {
    "daily": "매일",
    "weekly": "매주",
    "monthly": "매월",
    "quarterly": "분기마다",
    "yearly": "매년",
    "irregular": "비정기",
    "once": "한 번",
}
# One row of a time axis, and "per" it ("한 달인 시계열", "연도별로 같은 읍면동이 되풀이되는 표").
GRAINS = {"month": ("한 달", "월별로"), "year": ("한 해", "연도별로"), "date": ("하루", "날짜별로")}
SAVED = {
    "uploaded": "파일을 올렸어요. 아래에 추론한 구조가 맞는지 확인해 주세요.",
    "version": "새 버전을 올렸어요. 이제 챗봇이 이 버전으로 답해요.",
    "shape": "구조를 고쳤어요. 이제 챗봇이 이 구조로 답해요.",
    "confirmed": "추론한 구조가 맞다고 확인했어요.",
}
UPLOAD_FIELDS = {
    "id": "데이터셋 ID (영문 소문자·숫자·하이픈 3~80자)",
    "topic": "분야",
    "title_ko": "한국어 제목",
    "title_en": "영어 제목",
    "source": "출처",
    "licence": "이용 조건",
    "row_label_ko": "한 줄이 무엇인지 (한국어)",
    "row_label_en": "한 줄이 무엇인지 (영어)",
    "keywords_ko": "한국어 검색어",
    "keywords_en": "영어 검색어",
}
# Words the registry stores that mean something else to a reader of the page.
IMPORTERS = {"seed": "처음 설치할 때 넣은 기본 데이터"}


class UploadForm:
    """The registry fields of the new-dataset form, as posted."""

    def __init__(
        self,
        id: Name = "",
        topic: Annotated[str, Form(max_length=40)] = "",
        title_ko: Line = "",
        title_en: Line = "",
        source: Line = "",
        licence: Line = "",
        row_label_ko: Name = "",
        row_label_en: Name = "",
        keywords_ko: Annotated[str, Form(max_length=1000)] = "",
        keywords_en: Annotated[str, Form(max_length=1000)] = "",
    ) -> None:
        self.values = {
            "id": id.strip(),
            "topic": topic.strip(),
            "title_ko": title_ko.strip(),
            "title_en": title_en.strip(),
            "source": source.strip(),
            "licence": licence.strip(),
            "row_label_ko": row_label_ko.strip(),
            "row_label_en": row_label_en.strip(),
            "keywords_ko": keywords_ko.strip(),
            "keywords_en": keywords_en.strip(),
        }

    def metadata(self) -> DatasetMetadata:
        """The registry entry to import with the file; bad input raises InvalidInput naming the fields in Korean."""
        required = ("id", "topic", "title_ko", "title_en", "source", "licence")
        missing = [UPLOAD_FIELDS[name] for name in required if not self.values[name]]
        if missing:
            raise InvalidInput("Fill in every required field.", f"비어 있는 항목을 적어 주세요: {', '.join(missing)}")
        fields: dict[str, Any] = {name: self.values[name] or None for name in UPLOAD_FIELDS}
        for name in ("keywords_ko", "keywords_en"):
            fields[name] = [word.strip() for word in self.values[name].split(",") if word.strip()]
        try:
            return DatasetMetadata.model_validate(fields)
        except ValidationError as error:
            names = sorted({UPLOAD_FIELDS.get(str(e["loc"][0]), str(e["loc"][0])) for e in error.errors()})
            raise InvalidInput("Check the form.", f"입력을 확인해 주세요: {', '.join(names)}") from error


@router.get("", response_class=HTMLResponse)
def datasets_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    return _list_page(request, session, signed, form=UploadForm().values)


@router.post("")
def upload_dataset(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    form: Annotated[UploadForm, Depends()],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A new dataset from the console: the file is imported as the REST upload imports it, then its page shows
    the shape read from it for the admin to confirm."""
    try:
        metadata = form.metadata()
        if session.get(Dataset, metadata.id) is not None:
            raise InvalidInput(
                f"Dataset {metadata.id} exists; upload a new version on its page.",
                f"'{metadata.id}' 데이터셋이 이미 있어요. 새 버전은 그 데이터셋 페이지에서 올려 주세요.",
            )
        version = _import(request, session, signed, metadata, file)
    except DomainError as error:
        session.rollback()
        return _list_page(request, session, signed, form=form.values, error=error)
    return RedirectResponse(f"{HOME}/{version.dataset_id}?saved=uploaded", status_code=303)


@router.get("/{dataset_id}", response_class=HTMLResponse)
def dataset_page(
    request: Request,
    dataset_id: DatasetId,
    session: SessionDep,
    signed: AdminPage,
    saved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    try:
        dataset = service.get_dataset(session, dataset_id)
    except DomainError as error:
        return error_page(request, signed, error, HOME)
    return _detail_page(request, session, signed, dataset, saved=SAVED.get(saved))


@router.post("/{dataset_id}/versions")
def upload_version(
    request: Request,
    dataset_id: DatasetId,
    session: SessionDep,
    signed: AdminForm,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A new version of the dataset: the same columns; the live version changes only if the whole file validates."""
    try:
        service.get_dataset(session, dataset_id)
        _import(request, session, signed, DatasetMetadata(id=dataset_id), file)
    except DomainError as error:
        session.rollback()
        return _refused(request, session, signed, dataset_id, error, version_error=error.message("ko"))
    return RedirectResponse(f"{HOME}/{dataset_id}?saved=version", status_code=303)


@router.post("/{dataset_id}/shape")
def correct_shape(
    request: Request,
    dataset_id: DatasetId,
    session: SessionDep,
    signed: AdminForm,
    entity_column: Name = "",
    time_column: Name = "",
    total_row: Name = "",
    column: Annotated[list[str] | None, Form()] = None,
    role: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """The admin's correction: the column naming the rows, the time axis, the total row and each column's role."""
    posted = {
        "entity_column": entity_column,
        "time_column": time_column,
        "total_row": total_row.strip(),
        "roles": dict(zip(column or [], role or [], strict=False)),
    }
    try:
        if len(column or []) != len(role or []):
            raise InvalidInput("Each column needs one role.", "열마다 역할을 하나씩 골라 주세요.")
        correction = _shape_in(posted)
        dataset = service.set_shape(session, service.get_dataset(session, dataset_id), correction)
    except DomainError as error:
        session.rollback()
        return _refused(request, session, signed, dataset_id, error, shape_error=error.message("ko"), shape=posted)
    audit(session, signed.user, "correct_dataset_shape", f"dataset:{dataset_id}", shape_audit_detail(dataset))
    session.commit()
    return RedirectResponse(f"{HOME}/{dataset_id}?saved=shape", status_code=303)


@router.post("/{dataset_id}/shape/confirm")
def confirm_shape(request: Request, dataset_id: DatasetId, session: SessionDep, signed: AdminForm) -> Response:
    """The inferred shape is right as it is: saved unchanged, and no longer marked for checking."""
    try:
        dataset = service.get_dataset(session, dataset_id)
        shown = service.shape_out(dataset)
        same = ShapeIn(entity_column=shown.entity_column, time_column=shown.time_column, total_row=shown.total_row)
        service.set_shape(session, dataset, same)
    except DomainError as error:
        session.rollback()
        return _refused(request, session, signed, dataset_id, error, shape_error=error.message("ko"))
    audit(session, signed.user, "correct_dataset_shape", f"dataset:{dataset_id}", shape_audit_detail(dataset))
    session.commit()
    return RedirectResponse(f"{HOME}/{dataset_id}?saved=confirmed", status_code=303)


def explain(dataset: Dataset, shown: ShapeOut) -> list[str]:
    """The shape in plain Korean sentences, as an admin would check it against the file."""
    types = {column.name: column.type for column in dataset.columns}
    sentences = []
    if shown.kind == "series":
        one, _ = GRAINS.get(types[shown.time_column], ("한 시점", ""))
        sentences.append(f"한 줄이 {one}인 시계열이에요. 시간 축은 '{shown.time_column}' 열이에요.")
    elif shown.kind == "panel":
        _, per = GRAINS.get(types[shown.time_column], ("", "시점별로"))
        sentences.append(
            f"{per} 같은 {_subject(shown.entity_column)} 되풀이되는 표예요. "
            f"시간 축은 '{shown.time_column}' 열, 줄 이름은 '{shown.entity_column}' 열이에요."
        )
    else:
        thing = dataset.row_label_ko or "항목"
        named = f"줄 이름은 '{shown.entity_column}' 열이에요." if shown.entity_column else "줄 이름 열은 없어요."
        sentences.append(f"한 줄이 {thing} 하나인 목록이에요. {named}")
    timed = [name for name in shown.attributes if types[name] in GRAINS]
    if timed:
        word = TYPES[types[timed[0]]]
        if shown.kind == "snapshot":
            sentences.append(f"{timed[0]} 같은 {word} 열은 속성이라 '최근 {word}' 조건을 쓰지 않아요.")
        else:
            sentences.append(f"{timed[0]} 같은 {word} 열은 속성이라 시간 축으로 쓰지 않아요.")
    if shown.total_row:
        sentences.append(f"'{shown.total_row}' 줄은 다른 줄을 더한 합계라 더하기·순위·평균에서 빼요.")
    return sentences


def _import(
    request: Request, session: Session, signed: Signed, metadata: DatasetMetadata, file: UploadFile | None
) -> DatasetVersion:
    """Imported, audited and committed as the REST upload does it; a refusal raises before anything is written."""
    if file is None or not file.filename:
        raise InvalidInput("Choose the CSV file to upload.", "올릴 CSV 파일을 골라 주세요.")
    raw = read_upload(file, request.app.state.settings.opendata_max_upload_bytes)
    version = service.import_version(session, metadata, raw, file.filename, imported_by=signed.user.email)
    audit(session, signed.user, "upload_dataset", f"dataset:{metadata.id}", upload_audit_detail(version))
    session.commit()
    return version


def _shape_in(posted: dict) -> ShapeIn:
    try:
        return ShapeIn(
            entity_column=posted["entity_column"] or None,
            time_column=posted["time_column"] or None,
            total_row=posted["total_row"] or None,
            roles=posted["roles"],
        )
    except ValidationError as error:
        raise InvalidInput("Check the column roles.", "열 이름이나 역할을 확인해 주세요.") from error


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "예" if value else "아니요"
    return str(value)


def _subject(word: str) -> str:
    """The word with its subject particle: 읍면동이, 센터가; 이(가) after a word that is not Hangul."""
    last = word[-1]
    if "가" <= last <= "힣":
        return word + ("이" if (ord(last) - ord("가")) % 28 else "가")
    return f"{word}이(가)"


def _list_page(
    request: Request, session: Session, signed: Signed, form: dict, error: DomainError | None = None
) -> HTMLResponse:
    rows = []
    for dataset in service.list_datasets(session):
        version = service.live_version(session, dataset.id)
        shown = service.shape_out(dataset)
        rows.append({"dataset": dataset, "version": version, "kind": KINDS[shown.kind], "inferred": shown.inferred})
    context = {
        "signed": signed,
        "rows": rows,
        "topics": {topic: labels[0] for topic, labels in service.TOPIC_LABELS.items()},
        "form": form,
        "fields": UPLOAD_FIELDS,
        "error": error.message("ko") if error else None,
        "max_mib": request.app.state.settings.opendata_max_upload_bytes / (1024 * 1024),
    }
    return render(request, "datasets.html", context, status_code=error.status_code if error else 200)


def _refused(
    request: Request, session: Session, signed: Signed, dataset_id: str, error: DomainError, **shown
) -> Response:
    """The dataset's page again, unchanged, with the reason beside the form that was refused."""
    try:
        dataset = service.get_dataset(session, dataset_id)
    except DomainError as missing:
        return error_page(request, signed, missing, HOME)
    return _detail_page(request, session, signed, dataset, status_code=error.status_code, **shown)


def _detail_page(
    request: Request,
    session: Session,
    signed: Signed,
    dataset: Dataset,
    status_code: int = 200,
    saved: str | None = None,
    shape: dict | None = None,
    shape_error: str | None = None,
    version_error: str | None = None,
) -> HTMLResponse:
    version = service.live_version(session, dataset.id)
    frame = service.live_frame(session, dataset)[1] if version else None
    shown = service.shape_out(dataset)
    columns = list(dataset.columns)
    form = shape or {
        "entity_column": shown.entity_column or "",
        "time_column": shown.time_column or "",
        "total_row": shown.total_row or "",
        "roles": {column.name: column.role for column in columns},
    }
    entity_values: list[str] = []
    coverage = None
    if frame is not None and shown.entity_column:
        entity_values = [str(value) for value in frame[shown.entity_column].dropna().unique()[:200]]
    if frame is not None and shown.time_column:
        times = frame[shown.time_column].dropna()
        coverage = (times.min(), times.max()) if len(times) else None
    preview = [
        [_cell(value) for value in row.values()]
        for row in (service.records(frame.head(PREVIEW_ROWS)) if frame is not None else [])
    ]
    context = {
        "signed": signed,
        "dataset": dataset,
        "topic": service.TOPIC_LABELS.get(dataset.topic, (dataset.topic,))[0],
        "frequency": FREQUENCIES.get(dataset.update_frequency, dataset.update_frequency),
        "source_link": dataset.source_url if dataset.source_url.startswith(("https://", "http://")) else "",
        "version": version,
        "encoding": ENCODINGS.get(version.encoding, version.encoding) if version else "",
        "imported_by": IMPORTERS.get(version.imported_by, version.imported_by) if version else "",
        "shape": shown,
        "kind": KINDS[shown.kind],
        "explanation": explain(dataset, shown),
        "coverage": coverage,
        "columns": columns,
        "text_columns": [column.name for column in columns if column.type == "text"],
        "time_columns": [column.name for column in columns if column.type in GRAINS],
        "entity_values": entity_values,
        "roles": ROLES,
        "types": TYPES,
        "numeric": service.NUMERIC_TYPES,
        "form": form,
        "preview": preview,
        "preview_rows": PREVIEW_ROWS,
        "saved": saved,
        "shape_error": shape_error,
        "version_error": version_error,
        "max_mib": request.app.state.settings.opendata_max_upload_bytes / (1024 * 1024),
    }
    return render(request, "dataset.html", context, status_code=status_code)
