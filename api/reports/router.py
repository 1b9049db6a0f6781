"""HTTP routes of citizen reports: kinds, the consent statement, photos, filing, a citizen's list, a case, rating."""

from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile

from api.conversations.schemas import Channel
from api.deps import LanguageDep, ServiceDep, SessionDep
from api.opendata.places import district_name
from api.reports import messaging, photos, service
from api.reports.departments import department_name
from api.reports.models import ReportCase
from api.reports.schemas import (
    CaseOut,
    CaseSummary,
    ConsentOut,
    FiledOut,
    HistoryStep,
    KindOut,
    PhotoOut,
    RatingIn,
    ReportIn,
)

router = APIRouter(prefix="/api/reports", tags=["reports"], dependencies=[ServiceDep])


def _case_out(case: ReportCase, language: str) -> CaseOut:
    return CaseOut(
        receipt_no=case.receipt_no,
        kind=case.kind,
        kind_name=case.kind_row.name(language),
        status=case.status,
        status_name=messaging.status_name(case.status, language),
        department=case.department,
        department_name=department_name(case.department, language),
        created_at=case.created_at,
        due_at=case.due_at,
        place_name=case.place_name,
        district=case.district,
        district_name=_district_name(case, language),
        photos=len(case.photos),
        rating=case.rating,
        history=[HistoryStep(**step) for step in service.history(case, language)],
    )


def _district_name(case: ReportCase, language: str) -> str | None:
    return district_name(case.district, language) if case.district else None


@router.get("/kinds", response_model=list[KindOut])
def kinds(session: SessionDep, language: LanguageDep) -> list[KindOut]:
    return [
        KindOut(
            code=kind.code,
            name=kind.name(language),
            department=kind.department,
            department_name=department_name(kind.department, language),
        )
        for kind in service.kinds(session)
    ]


@router.get("/consent", response_model=ConsentOut)
def consent(request: Request, language: LanguageDep) -> ConsentOut:
    days = request.app.state.settings.report_retention_days
    return ConsentOut(text=messaging.consent_text(days, language), retention_days=days)


@router.post("/photos", response_model=PhotoOut, status_code=201)
def upload_photo(
    request: Request,
    session: SessionDep,
    channel: Annotated[Channel, Form()],
    channel_user_id: Annotated[str, Form(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")],
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP photo")],
) -> PhotoOut:
    settings = request.app.state.settings
    # One byte past the limit is enough to know it is too large.
    data = file.file.read(settings.report_photo_max_bytes + 1)
    photo = photos.store_photo(session, channel, channel_user_id, data, settings=settings)
    return PhotoOut(photo_id=photo.id, latitude=photo.latitude, longitude=photo.longitude)


@router.post("", response_model=FiledOut, status_code=201)
def file_report(
    body: ReportIn,
    request: Request,
    session: SessionDep,
    language: LanguageDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=80)] = None,
) -> FiledOut:
    report = service.NewReport(**body.model_dump())
    filed = service.file_report(session, report, idempotency_key, settings=request.app.state.settings)
    case = filed.case
    kind_name = case.kind_row.name(language)
    due = messaging.due_text(case.due_at, language)
    return FiledOut(
        receipt_no=case.receipt_no,
        kind=case.kind,
        kind_name=kind_name,
        department=case.department,
        department_name=department_name(case.department, language),
        status=case.status,
        status_name=messaging.status_name(case.status, language),
        place_name=case.place_name,
        district=case.district,
        district_name=_district_name(case, language),
        due_at=case.due_at,
        due_text=due,
        photos=len(case.photos),
        merged=filed.merged,
        message=messaging.filed_reply(case.receipt_no, kind_name, due, filed.merged, language),
    )


@router.get("", response_model=list[CaseSummary])
def cases_of_citizen(
    session: SessionDep,
    language: LanguageDep,
    channel: Channel,
    channel_user_id: Annotated[str, Query(min_length=1, max_length=128)],
) -> list[CaseSummary]:
    return [
        CaseSummary(
            receipt_no=case.receipt_no,
            kind_name=case.kind_row.name(language),
            status=case.status,
            status_name=messaging.status_name(case.status, language),
            created_at=case.created_at,
            place_name=case.place_name,
            rated=case.rating is not None,
        )
        for case in service.cases_of(session, channel, channel_user_id)
    ]


@router.get("/{receipt_no}", response_model=CaseOut)
def case(receipt_no: str, session: SessionDep, language: LanguageDep) -> CaseOut:
    return _case_out(service.find_case(session, receipt_no), language)


@router.post("/{receipt_no}/rating", response_model=CaseOut)
def rate(receipt_no: str, body: RatingIn, session: SessionDep, language: LanguageDep) -> CaseOut:
    case = service.rate(session, receipt_no, body.channel, body.channel_user_id, body.score, body.comment)
    return _case_out(case, language)
