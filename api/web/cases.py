"""Console pages of citizen reports (생활불편 신고): each department's inbox and map of open cases, one case with
its photos and history, the staff's actions on it (assign, transfer, note, status, message), and report kinds."""

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api.conversations import handoffs
from api.core.errors import DomainError, InvalidInput, NotFound
from api.deps import SessionDep
from api.opendata.places import PAJU_OUTLINE, districts, places
from api.reports import messaging, service
from api.reports.departments import FIELD_DEPARTMENTS, department_name
from api.reports.models import OPEN_STATUSES, STATUSES, ReportCase, ReportPhoto
from api.reports.photos import photo_path
from api.staff import service as staff_service
from api.web.auth import AdminForm, AdminPage, ConsoleForm, ConsolePage, Signed
from api.web.contacts import mask_channel_id
from api.web.pages import error_page, render
from api.web.svg_map import Dot, Landmark, inside, paju_map
from common.clock import utcnow
from common.masking import PHONE_PATTERN, mask_phone

router = APIRouter(prefix="/console", include_in_schema=False)
CASES = "/console/cases"
KINDS = "/console/admin/report-kinds"
MAX_REASON_CHARS = 300
MAX_TEXT_CHARS = 4000  # past the service's own limit, so that it says in Korean what is too long
Line = Annotated[str, Form(max_length=1000)]
Text = Annotated[str, Form(max_length=MAX_TEXT_CHARS)]
# The statuses staff set from a case page; received, assigned and transferred follow from other actions.
STAFF_STATUSES = service.STAFF_STATUSES
STATUS_FILTERS = {
    "open": "열린 신고 전체",
    **{s: messaging.status_name(s, "ko") for s in STATUSES},
    "closed": "닫힌 신고 전체",
}
AGE_FILTERS = {"": "전체", "4": "4시간 넘게", "24": "하루 넘게", "72": "사흘 넘게", "168": "일주일 넘게"}
STATUS_COLOURS = {"received": "#e07b00", "assigned": "#0b5cad", "in_progress": "#2e8b57", "transferred": "#a33ea1"}
EVENT_ACTIONS = {
    "filed": "접수",
    "merged": "중복 신고 합침",
    "assigned": "담당자 배정",
    "status": "상태 변경",
    "transferred": "부서 이관",
    "note": "내부 메모",
    "message": "시민에게 메시지",
    "rated": "만족도 평가",
    "purged": "개인정보 삭제",
}
INBOX_LIMIT = 200  # the newest cases a list shows, besides every overdue one


@dataclass(frozen=True)
class InboxFilters:
    department: str
    status: str
    kind: str
    district: str
    age: str
    overdue_only: bool

    def query(self, **changes) -> str:
        """The inbox's query string with some filters changed: the department tabs keep the other filters."""
        values = {**self.__dict__, **changes}
        names = {"overdue_only": "overdue"}
        return urlencode(
            [(names.get(k, k), "1" if v is True else v) for k, v in values.items() if v not in ("", False)]
        )


# --- the inbox and the map ----------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: SessionDep,
    signed: ConsolePage,
    department: Annotated[str, Query(max_length=20)] = "",
    status: Annotated[str, Query(max_length=16)] = "open",
    kind: Annotated[str, Query(max_length=20)] = "",
    district: Annotated[str, Query(max_length=40)] = "",
    age: Annotated[str, Query(max_length=4)] = "",
    overdue: Annotated[str, Query(max_length=1)] = "",
) -> HTMLResponse:
    """The cases of one department (or all), overdue ones first and then the oldest; filters in the query."""
    kinds = service.kinds(session, active_only=False)
    filters = InboxFilters(
        department=department if department in FIELD_DEPARTMENTS else "",
        status=status if status in STATUS_FILTERS else "open",
        kind=kind if kind in {k.code for k in kinds} else "",
        district=district if district in {d.name for d in districts()} else "",
        age=age if age in AGE_FILTERS else "",
        overdue_only=overdue == "1",
    )
    now = utcnow()
    chosen = {
        "department": filters.department or None,
        "status": filters.status,
        "kind": filters.kind or None,
        "district": filters.district or None,
        "min_age_hours": int(filters.age) if filters.age else None,
        "now": now,
    }
    cases = service.list_cases(session, **chosen, overdue_only=filters.overdue_only, limit=INBOX_LIMIT)
    # The list is the newest cases; the overdue ones are the oldest, so they are asked for on their own too.
    overdue = service.list_cases(session, **chosen, overdue_only=True, limit=INBOX_LIMIT)
    unique = {case.id: case for case in [*overdue, *cases]}.values()
    rows = sorted((_row(case, now) for case in unique), key=lambda row: (not row["overdue"], row["created_at"]))
    context = {
        "signed": signed,
        "filters": filters,
        "rows": rows,
        "tabs": _department_tabs(session, now),
        "kinds": {k.code: k.name_ko for k in kinds},
        "statuses": STATUS_FILTERS,
        "ages": AGE_FILTERS,
        "districts": [d.name for d in districts()],
        "overdue_here": sum(1 for row in rows if row["overdue"]),
        "more": len(cases) >= INBOX_LIMIT,
        "limit": INBOX_LIMIT,
    }
    return render(request, "cases.html", context)


@router.get("/cases/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    session: SessionDep,
    signed: ConsolePage,
    department: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """The open cases on a map of Paju drawn here (no map service): a dot per case, coloured by status."""
    department = department if department in FIELD_DEPARTMENTS else ""
    now = utcnow()
    cases = service.list_cases(session, department=department or None, status="open", now=now, limit=INBOX_LIMIT)
    rows = [_row(case, now) for case in cases]
    dots = [
        Dot(
            row["latitude"],
            row["longitude"],
            STATUS_COLOURS.get(row["status"], "#7a8692"),
            f"{row['receipt_no']} {row['kind']} · {row['status_name']}" + (" · 기한 넘김" if row["overdue"] else ""),
            f"{CASES}/{row['receipt_no']}",
            row["overdue"],
        )
        for row in rows
        if row["on_map"]
    ]
    title = f"{department_name(department, 'ko') if department else '전체 부서'} 열린 신고 지도"
    context = {
        "signed": signed,
        "department": department,
        "departments": {code: d.name_ko for code, d in FIELD_DEPARTMENTS.items()},
        "map": paju_map(title, _landmarks(), dots, outline=PAJU_OUTLINE),
        "on_map": [row for row in rows if row["on_map"]],
        "off_map": [row for row in rows if not row["on_map"]],
        "more": len(cases) >= INBOX_LIMIT,
        "limit": INBOX_LIMIT,
        "legend": {status: (messaging.status_name(status, "ko"), STATUS_COLOURS[status]) for status in OPEN_STATUSES},
    }
    return render(request, "cases_map.html", context)


# --- one case -----------------------------------------------------------------------------------------------


@router.get("/cases/photos/{photo_id}")
def photo(request: Request, photo_id: str, session: SessionDep, signed: ConsolePage) -> Response:
    """A case's photo from the file store, for staff only; each view is audited and nothing is cached. Anything
    but a filed photo whose file is in the store is "not found"."""
    settings = request.app.state.settings
    number = int(photo_id) if photo_id.isascii() and photo_id.isdigit() and len(photo_id) <= 9 else None
    found = session.get(ReportPhoto, number) if number else None
    path = photo_path(found, settings) if found is not None and found.case is not None else None
    if path is None or not path.is_file() or not path.resolve().is_relative_to(settings.report_photos_dir.resolve()):
        return error_page(request, signed, NotFound("no such photo", "사진을 찾을 수 없어요."), CASES)
    staff_service.audit(session, signed.user, "report.photo", f"report:{found.case.receipt_no}", f"photo:{found.id}")
    session.commit()
    headers = {"Cache-Control": "no-store, private", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=found.content_type, headers=headers, content_disposition_type="inline")


@router.get("/cases/{receipt_no}", response_class=HTMLResponse)
def case_page(request: Request, receipt_no: str, session: SessionDep, signed: ConsolePage) -> Response:
    try:
        case = service.get_case(session, receipt_no)
    except DomainError as error:
        return error_page(request, signed, error, CASES)
    return _case_page(request, session, signed, case)


@router.post("/cases/{receipt_no}/reveal", response_class=HTMLResponse)
def reveal_phone(
    request: Request, receipt_no: str, session: SessionDep, signed: ConsoleForm, reason: Line = ""
) -> Response:
    """The callback number in full, once, for a stated reason that the audit log keeps with who and when."""

    def act(case: ReportCase) -> None:
        if not reason.strip():
            raise InvalidInput("Say why you need the number.", "전화번호를 보는 이유를 적어 주세요.")
        if len(reason.strip()) > MAX_REASON_CHARS:
            raise InvalidInput("Keep the reason short.", f"보는 이유는 {MAX_REASON_CHARS}자 이내로 적어 주세요.")
        if not case.callback_phone:
            raise InvalidInput("There is no number.", "이 신고에는 남긴 연락처가 없어요.")
        staff_service.audit(session, signed.user, "report.reveal", f"report:{case.receipt_no}", reason.strip())
        session.commit()

    return _act(request, session, signed, receipt_no, act, {"reveal_reason": reason}, revealed=True)


@router.post("/cases/{receipt_no}/assign")
def assign(
    request: Request,
    receipt_no: str,
    session: SessionDep,
    signed: ConsoleForm,
    assignee_id: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    def act(case: ReportCase) -> None:
        if not assignee_id.isascii() or not assignee_id.isdigit():
            raise InvalidInput("Choose a colleague.", "맡을 직원을 골라 주세요.")
        assignee = staff_service.get_user(session, int(assignee_id))
        if not assignee.active:
            raise InvalidInput("That account is not active.", f"{assignee.name} 님의 계정은 쓰지 않는 계정이에요.")
        service.assign(session, case, signed.user, assignee)

    return _act(request, session, signed, receipt_no, act, {})


@router.post("/cases/{receipt_no}/transfer")
def transfer(
    request: Request,
    receipt_no: str,
    session: SessionDep,
    signed: ConsoleForm,
    department: Annotated[str, Form(max_length=20)] = "",
    note: Text = "",
) -> Response:
    def act(case: ReportCase) -> None:
        if department not in FIELD_DEPARTMENTS:
            raise InvalidInput("Choose a department.", "넘길 부서를 골라 주세요.")
        if department == case.department:
            raise InvalidInput("It is already there.", "이미 그 부서의 신고예요. 다른 부서를 골라 주세요.")
        if not note.strip():
            raise InvalidInput("Say why.", "넘기는 이유를 메모로 적어 주세요.")
        service.transfer(session, case, signed.user, department, note.strip())

    return _act(request, session, signed, receipt_no, act, {"transfer_note": note, "transfer_department": department})


@router.post("/cases/{receipt_no}/note")
def add_note(request: Request, receipt_no: str, session: SessionDep, signed: ConsoleForm, note: Text = "") -> Response:
    def act(case: ReportCase) -> None:
        if not note.strip():
            raise InvalidInput("Write the note.", "메모 내용을 적어 주세요.")
        service.add_note(session, case, signed.user, note.strip())

    return _act(request, session, signed, receipt_no, act, {"note": note})


@router.post("/cases/{receipt_no}/status")
def change_status(
    request: Request,
    receipt_no: str,
    session: SessionDep,
    signed: ConsoleForm,
    status: Annotated[str, Form(max_length=16)] = "",
    message: Text = "",
    reason: Line = "",
    prefilled_status: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A new status with a message to the citizen. Without JavaScript the box still holds the ready text of the
    status chosen when the page was drawn; if staff left it as it was, the ready text of the new status goes."""

    settings = request.app.state.settings

    def act(case: ReportCase) -> None:
        if status not in STAFF_STATUSES:
            raise InvalidInput("Choose a status.", "바꿀 상태를 골라 주세요.")
        if status == "rejected" and not reason.strip():
            raise InvalidInput("Say why it is rejected.", "반려하는 이유를 적어 주세요. 시민에게 그대로 전해져요.")
        text = message.strip()
        untouched = text == messaging.canned_text(case.kind, prefilled_status, case.language).strip()
        if prefilled_status in STAFF_STATUSES and prefilled_status != status and untouched:
            text = messaging.canned_text(case.kind, status, case.language)
        service.change_status(
            session, case, signed.user, status, message=text or None, reason=reason.strip() or None, settings=settings
        )

    values = {"status": status, "message": message, "reason": reason}
    return _act(request, session, signed, receipt_no, act, values)


@router.post("/cases/{receipt_no}/message")
def send_message(
    request: Request, receipt_no: str, session: SessionDep, signed: ConsoleForm, text: Text = ""
) -> Response:
    def act(case: ReportCase) -> None:
        if not text.strip():
            raise InvalidInput("Write the message.", "시민에게 보낼 메시지를 적어 주세요.")
        service.send_message(session, case, signed.user, text.strip())

    return _act(request, session, signed, receipt_no, act, {"text": text})


# --- report kinds (admins) ----------------------------------------------------------------------------------


@router.get("/admin/report-kinds", response_class=HTMLResponse)
def kinds_page(request: Request, session: SessionDep, signed: AdminPage) -> HTMLResponse:
    return _kinds_page(request, session, signed)


@router.post("/admin/report-kinds", response_class=HTMLResponse)
def add_kind(
    request: Request,
    session: SessionDep,
    signed: AdminForm,
    code: Annotated[str, Form(max_length=40)] = "",
    name_ko: Annotated[str, Form(max_length=120)] = "",
    name_en: Annotated[str, Form(max_length=120)] = "",
    department: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    form = {"code": code, "name_ko": name_ko, "name_en": name_en, "department": department}
    try:
        if department not in FIELD_DEPARTMENTS:
            raise InvalidInput("Choose a department.", "담당 부서를 골라 주세요.")
        service.add_kind(session, signed.user, code.strip(), name_ko.strip(), name_en.strip(), department)
        session.commit()
    except DomainError as error:
        session.rollback()
        return _kinds_page(request, session, signed, error.message("ko"), form, error.status_code)
    return RedirectResponse(KINDS, status_code=303)


@router.post("/admin/report-kinds/{code}/active", response_class=HTMLResponse)
def set_kind_active(
    request: Request,
    code: str,
    session: SessionDep,
    signed: AdminForm,
    active: Annotated[bool, Form()] = False,
) -> Response:
    try:
        service.set_kind_active(session, signed.user, code[:40], active)
    except DomainError as error:
        session.rollback()
        return _kinds_page(request, session, signed, error.message("ko"), None, error.status_code)
    session.commit()
    return RedirectResponse(KINDS, status_code=303)


# --- helpers ------------------------------------------------------------------------------------------------


def _act(request: Request, session: Session, signed: Signed, receipt_no: str, act, form: dict, revealed=False):
    """Finds the case and does one action on it: then back to the case page (redirect after post), or the page
    again with the reason in Korean and what was typed, nothing changed."""
    try:
        case = service.get_case(session, receipt_no)
    except DomainError as error:
        return error_page(request, signed, error, CASES)
    try:
        act(case)
        session.commit()
    except DomainError as error:
        session.rollback()
        case = service.get_case(session, case.receipt_no)
        return _case_page(request, session, signed, case, error.message("ko"), form, error.status_code)
    if revealed:
        return _case_page(request, session, signed, case, revealed=True)
    return RedirectResponse(f"{CASES}/{case.receipt_no}", status_code=303)


def _case_page(
    request: Request,
    session: Session,
    signed: Signed,
    case: ReportCase,
    error: str | None = None,
    form: dict | None = None,
    status_code: int = 200,
    revealed: bool = False,
) -> HTMLResponse:
    """The case as staff see it. Drawing it with the citizen's description, photos or number is audited."""
    if case.description or case.photos or case.callback_phone:
        staff_service.audit(session, signed.user, "report.view", f"report:{case.receipt_no}")
        session.commit()
    now = utcnow()
    row = _row(case, now)
    language = case.language if case.language in ("ko", "en") else "ko"
    default_status = "in_progress" if case.status in ("received", "assigned", "transferred") else "done"
    form = form or {}
    dots = [Dot(case.latitude, case.longitude, STATUS_COLOURS.get(case.status, "#7a8692"), case.receipt_no)]
    context = {
        "signed": signed,
        "case": case,
        "row": row,
        "error": error,
        "form": form,
        "revealed": revealed,
        "phone": (_dashed(case.callback_phone) if revealed else mask_phone(case.callback_phone))
        if case.callback_phone
        else "",
        "language": language,
        "reporters": _reporters(session, case),
        "events": [_event(event) for event in case.events],
        "map": paju_map(f"{case.receipt_no} 위치", _landmarks(), dots, outline=PAJU_OUTLINE, width=320)
        if row["on_map"]
        else None,
        "colleagues": [u for u in staff_service.list_users(session) if u.active],
        "departments": {code: d.name_ko for code, d in FIELD_DEPARTMENTS.items()},
        "staff_statuses": {s: messaging.status_name(s, "ko") for s in STAFF_STATUSES},
        "canned": {s: messaging.canned_text(case.kind, s, language) for s in STAFF_STATUSES},
        "chosen_status": form.get("status") if form.get("status") in STAFF_STATUSES else default_status,
        "default_status": default_status,
    }
    return render(request, "case.html", context, status_code=status_code)


def _row(case: ReportCase, now: datetime) -> dict:
    """What the inbox, the map and the case page show of a case, masked."""
    return {
        "receipt_no": case.receipt_no,
        "kind": case.kind_row.name_ko if case.kind_row else case.kind,
        "department": department_name(case.department, "ko"),
        "place": case.place_name or "",
        "district": case.district or "",
        "status": case.status,
        "status_name": messaging.status_name(case.status, "ko"),
        "assignee": case.assignee.name if case.assignee else "",
        "created_at": case.created_at,
        "due_at": case.due_at,
        "overdue": service.is_overdue(case, now),
        "latitude": case.latitude,
        "longitude": case.longitude,
        "on_map": inside(case.latitude, case.longitude),
    }


def _department_tabs(session: Session, now: datetime) -> list[dict]:
    return [
        {"code": code, "name": d.name_ko, "overdue": service.overdue_count(session, now, department=code)}
        for code, d in FIELD_DEPARTMENTS.items()
    ]


def _landmarks() -> list[Landmark]:
    return [Landmark(place.name, place.lat, place.lon, place.kind == "district") for place in places()]


def _reporters(session: Session, case: ReportCase) -> list[dict]:
    """The citizens told about the case: their channel, their id on it masked, and whether they merged in."""
    views = []
    for reporter in case.reporters:
        if reporter.conversation_id is None:
            continue
        conversation = handoffs.get_conversation(session, reporter.conversation_id)
        views.append(
            {
                "conversation_id": conversation.id,
                "channel": conversation.channel,
                "user": mask_channel_id(conversation.channel_user_id),
                "merged": reporter.merged,
            }
        )
    return views


def _dashed(phone: str) -> str:
    """ "010-1234-5678" for the "01012345678" stored."""
    return PHONE_PATTERN.sub(lambda m: f"{m.group(1)}-{m.group(2)}-{m.group(3)}", phone)


def _event(event) -> dict:
    return {
        "at": event.at,
        "action": EVENT_ACTIONS.get(event.action, event.action),
        # Only a status change says the status: the other steps keep the one before, or their name says it.
        "status": messaging.status_name(event.status, "ko") if event.action == "status" and event.status else "",
        "staff": event.staff.name if event.staff else "",
        "department": department_name(event.department, "ko") if event.department else "",
        "public_text": event.public_text or "",
        "private_note": event.private_note or "",
    }


def _kinds_page(
    request: Request,
    session: Session,
    signed: Signed,
    error: str | None = None,
    form: dict | None = None,
    status_code=200,
) -> HTMLResponse:
    context = {
        "signed": signed,
        "kinds": service.kinds(session, active_only=False),
        "departments": {code: d.name_ko for code, d in FIELD_DEPARTMENTS.items()},
        "error": error,
        "form": form or {},
    }
    return render(request, "admin_report_kinds.html", context, status_code=status_code)
